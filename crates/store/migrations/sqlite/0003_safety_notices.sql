-- Safety notices: health-owned instructions for prison staff. The notice row
-- holds the current version (for queries); every version, including the
-- withdrawal, is kept in safety_notice_versions and never changed or deleted.
-- `content` and `author` are JSON (gatehouse_domain::notice).

CREATE TABLE safety_notices (
    id            TEXT PRIMARY KEY,
    prison_number TEXT NOT NULL REFERENCES people(prison_number),
    version       INTEGER NOT NULL,
    status        TEXT NOT NULL,           -- active | withdrawn
    category      TEXT NOT NULL,
    review_by     TEXT NOT NULL,
    content       TEXT NOT NULL,
    author        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL            -- the consumer that wrote the current version
);
CREATE INDEX safety_notices_by_person ON safety_notices(prison_number, status);
CREATE INDEX safety_notices_by_review ON safety_notices(status, review_by);

CREATE TABLE safety_notice_versions (
    notice_id   TEXT NOT NULL REFERENCES safety_notices(id),
    version     INTEGER NOT NULL,
    status      TEXT NOT NULL,
    content     TEXT NOT NULL,
    author      TEXT NOT NULL,
    reason      TEXT,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (notice_id, version)
);
