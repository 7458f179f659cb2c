-- Verified staff identity (issue 11).
--
-- A consumer whose requests name a staff user registers how to verify the
-- signed assertion it sends: the issuer's keys (an inline JWKS and/or a URL
-- to fetch one from), the issuer and audience the assertion must carry, and
-- the claim that names the staff user. With no issuer set, the consumer
-- cannot name staff users at all. Public keys only: nothing here is secret.
ALTER TABLE consumers ADD COLUMN staff_issuer TEXT;
ALTER TABLE consumers ADD COLUMN staff_audience TEXT;
ALTER TABLE consumers ADD COLUMN staff_claim TEXT;
ALTER TABLE consumers ADD COLUMN staff_jwks TEXT;      -- a JWKS document, JSON
ALTER TABLE consumers ADD COLUMN staff_jwks_url TEXT;

-- A staff account may be signed into through the OpenID Connect provider:
-- the provider's subject identifier for that person, unique when set.
ALTER TABLE staff_users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX staff_users_by_oidc_subject ON staff_users(oidc_subject) WHERE oidc_subject IS NOT NULL;

-- OpenID Connect sign-ins under way: from the redirect to the provider until
-- the browser comes back (ten minutes at most). Kept in the database, not in
-- one process, so the callback may land on any instance. The state is stored
-- hashed; the nonce and PKCE verifier are one-use secrets deleted on return.
CREATE TABLE oidc_sign_ins (
    state_hash  TEXT PRIMARY KEY,   -- hex SHA-256 of the state parameter
    nonce       TEXT NOT NULL,
    verifier    TEXT NOT NULL,      -- the PKCE code verifier
    next        TEXT NOT NULL,      -- where to go once signed in
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
