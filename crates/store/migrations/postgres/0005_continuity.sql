-- Medication continuity (DESIGN.md §1 failure 3): a transfer or release,
-- planned or actual, of a person whose medicines must travel with them opens
-- a check that stays open until a health consumer confirms it.

-- The destination of the person's next planned transfer: the receiving
-- prison's healthcare may read them to prepare (see the prison-healthcare template).
ALTER TABLE people ADD COLUMN incoming_establishment TEXT;

CREATE TABLE continuity_checks (
    id                 TEXT PRIMARY KEY,
    prison_number      TEXT NOT NULL REFERENCES people(prison_number),
    kind               TEXT NOT NULL,       -- transfer | release
    trigger_ref        TEXT NOT NULL,       -- the planned movement id, or the movement's feed event id
    planned            BOOLEAN NOT NULL,    -- raised by a plan (before departure) or by the movement itself
    from_establishment TEXT NOT NULL,
    to_establishment   TEXT,                -- the receiving prison of a transfer
    due_at             TIMESTAMPTZ NOT NULL,         -- the planned time, or when the movement happened
    categories         TEXT NOT NULL,       -- JSON: the notice categories that require it
    status             TEXT NOT NULL,       -- open | confirmed | cancelled
    raised_at          TIMESTAMPTZ NOT NULL,
    closed_at          TIMESTAMPTZ,
    closed_by          TEXT,                -- the consumer that confirmed it
    confirmation       TEXT,                -- JSON {note, author}
    UNIQUE (prison_number, trigger_ref)
);
CREATE INDEX continuity_by_person ON continuity_checks(prison_number, status);
CREATE INDEX continuity_open_at ON continuity_checks(status, from_establishment);
