-- Governance: agreements held per consumer, the disclosure audit log with its
-- hash chain and Merkle frontier, signed checkpoints, and break-glass reviews.

ALTER TABLE consumers ADD COLUMN agreement_text TEXT NOT NULL DEFAULT '';
ALTER TABLE consumers ADD COLUMN agreement_updated_at TEXT;

-- One row per disclosure record, append-only. `content` is the record's
-- canonical JSON; `leaf_hash` is its RFC 6962 leaf hash and `chain` the hash
-- chain up to and including it, both hex.
CREATE TABLE audit_log (
    seq           INTEGER PRIMARY KEY,
    recorded_at   TEXT NOT NULL,
    prison_number TEXT,
    consumer      TEXT NOT NULL,
    content       TEXT NOT NULL,
    leaf_hash     TEXT NOT NULL,
    chain         TEXT NOT NULL
);
CREATE INDEX audit_log_by_person ON audit_log(prison_number, seq);

-- The head of the log: its size, last chain value and Merkle frontier.
-- Appends lock it, so several Gatehouse instances append in one order.
CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    size     INTEGER NOT NULL,
    chain    TEXT NOT NULL,
    frontier TEXT NOT NULL
);
INSERT INTO audit_head (id, size, chain, frontier) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', '[]');

-- Signed checkpoints (the signing key is never in the database).
CREATE TABLE audit_checkpoints (
    size       INTEGER PRIMARY KEY,
    root       TEXT NOT NULL,
    signed     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Break-glass: each use opens (or joins) a time-limited grant that an
-- information-governance lead reviews.
CREATE TABLE break_glass (
    id            TEXT PRIMARY KEY,
    consumer      TEXT NOT NULL,
    staff_user    TEXT NOT NULL,
    prison_number TEXT NOT NULL,
    reason        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    uses          INTEGER NOT NULL,
    status        TEXT NOT NULL,
    reviewed_by   TEXT,
    reviewed_at   TEXT,
    outcome       TEXT,
    note          TEXT
);
CREATE INDEX break_glass_by_status ON break_glass(status, started_at);
CREATE INDEX break_glass_open ON break_glass(consumer, staff_user, prison_number, expires_at);
