-- Staff accounts for the web pages: local users with argon2 password hashes,
-- and their sessions. A session's id is a 256-bit random token; only its
-- SHA-256 is kept, so a copy of the database cannot be used to sign in.
-- Neither table holds person data.

CREATE TABLE staff_users (
    username       TEXT PRIMARY KEY,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,   -- officer | healthcare | ig-lead | admin
    establishments TEXT NOT NULL,   -- JSON array of codes, or ["*"]
    password_hash  TEXT NOT NULL,   -- argon2id, PHC string
    created_at     TEXT NOT NULL,
    disabled_at    TEXT
);

CREATE TABLE staff_sessions (
    id          TEXT PRIMARY KEY,   -- hex SHA-256 of the session token
    username    TEXT NOT NULL REFERENCES staff_users(username),
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX staff_sessions_by_user ON staff_sessions(username);
