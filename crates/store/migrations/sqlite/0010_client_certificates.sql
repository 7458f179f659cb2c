-- Mutual TLS: a consumer may be bound to its client certificate, by the
-- SHA-256 fingerprint of the certificate's DER encoding (lowercase hex)
-- and/or by its subject distinguished name (RFC 4514, as Gatehouse prints it).
-- `require_client_cert`: a request with this consumer's key is refused unless
-- the connection presented the bound certificate.
ALTER TABLE consumers ADD COLUMN client_cert_sha256 TEXT;
ALTER TABLE consumers ADD COLUMN client_cert_subject TEXT;
ALTER TABLE consumers ADD COLUMN require_client_cert BOOLEAN NOT NULL DEFAULT FALSE;

-- One active consumer per certificate, so a certificate names at most one
-- consumer. A revoked consumer keeps its binding (the record of what it was),
-- and a replacement may take the same certificate.
CREATE UNIQUE INDEX consumers_by_cert_sha256 ON consumers(client_cert_sha256)
    WHERE client_cert_sha256 IS NOT NULL AND revoked_at IS NULL;
CREATE UNIQUE INDEX consumers_by_cert_subject ON consumers(client_cert_subject)
    WHERE client_cert_subject IS NOT NULL AND revoked_at IS NULL;
