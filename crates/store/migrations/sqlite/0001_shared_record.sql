-- Gatehouse shared record, SQLite engine. Times are RFC 3339 UTC text (sqlx's
-- encoding), which sorts in time order; JSON payloads are text.

CREATE TABLE establishments (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL
);

CREATE TABLE people (
    prison_number   TEXT PRIMARY KEY,
    given_name      TEXT,
    family_name     TEXT,
    family_name_key TEXT,            -- upper-cased family name, for search
    date_of_birth   TEXT,
    details_as_of   TEXT,            -- occurredAt of the details shown (out-of-order rule)
    details_source  TEXT,
    -- custody projection: derived from the latest movement, never set by hand
    custody_status  TEXT,
    establishment   TEXT REFERENCES establishments(code),
    location        TEXT,
    cell            TEXT,
    destination     TEXT,
    custody_since   TEXT,
    custody_source  TEXT,
    event_seq       INTEGER NOT NULL DEFAULT 0,   -- per-person event sequence for the outbox
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX people_by_establishment ON people(establishment, prison_number);
CREATE INDEX people_by_name ON people(family_name_key, date_of_birth);

CREATE TABLE identity_links (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    prison_number TEXT NOT NULL REFERENCES people(prison_number),
    nhs_number    TEXT NOT NULL,
    method        TEXT NOT NULL,
    verification  TEXT NOT NULL,
    linked_by     TEXT NOT NULL,
    linked_at     TEXT NOT NULL,
    active        INTEGER NOT NULL,
    unlinked_at   TEXT,
    unlinked_by   TEXT
);
CREATE UNIQUE INDEX identity_links_one_active_per_person ON identity_links(prison_number) WHERE active = 1;
CREATE UNIQUE INDEX identity_links_one_active_per_nhs ON identity_links(nhs_number) WHERE active = 1;

CREATE TABLE movements (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    prison_number TEXT NOT NULL REFERENCES people(prison_number),
    kind          TEXT NOT NULL,
    reason        TEXT NOT NULL,
    establishment TEXT NOT NULL REFERENCES establishments(code),
    destination   TEXT REFERENCES establishments(code),
    cell          TEXT,
    occurred_at   TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    source        TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX movements_by_person ON movements(prison_number, occurred_at, seq);

CREATE TABLE alerts (
    prison_number TEXT NOT NULL REFERENCES people(prison_number),
    alert_id      TEXT NOT NULL,
    code          TEXT NOT NULL,
    active        INTEGER NOT NULL,
    active_from   TEXT,
    active_to     TEXT,
    as_of         TEXT NOT NULL,
    source        TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (prison_number, alert_id)
);

CREATE TABLE planned_movements (
    plan_id        TEXT PRIMARY KEY,
    prison_number  TEXT NOT NULL REFERENCES people(prison_number),
    kind           TEXT NOT NULL,
    establishment  TEXT NOT NULL REFERENCES establishments(code),
    destination    TEXT REFERENCES establishments(code),
    planned_for    TEXT NOT NULL,
    description    TEXT,
    status         TEXT NOT NULL,
    fulfilled_by   INTEGER REFERENCES movements(seq),
    as_of          TEXT NOT NULL,
    source         TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX planned_by_person ON planned_movements(prison_number, planned_for);

-- Idempotency: every stored feed item, with the answer it got.
CREATE TABLE feed_ledger (
    event_id      TEXT PRIMARY KEY,
    content_hash  TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    prison_number TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    outcome       TEXT NOT NULL
);

-- Transactional outbox: written in the same transaction as the change.
CREATE TABLE outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    subject_seq   INTEGER NOT NULL,
    establishment TEXT,
    occurred_at   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    data          TEXT NOT NULL,
    UNIQUE (subject, subject_seq)
);

CREATE TABLE consumers (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    org_type       TEXT NOT NULL,
    agreement      TEXT NOT NULL,
    establishments TEXT NOT NULL,   -- JSON array of codes, or ["*"]
    created_at     TEXT NOT NULL,
    revoked_at     TEXT
);

CREATE TABLE api_keys (
    prefix      TEXT PRIMARY KEY,
    consumer_id TEXT NOT NULL REFERENCES consumers(id),
    key_hash    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
