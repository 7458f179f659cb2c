-- Event delivery: subscriptions, one delivery row per (subscription, event),
-- and the cursors of the fan-out and the NATS publisher over the outbox.

CREATE TABLE subscriptions (
    id              TEXT PRIMARY KEY,
    consumer        TEXT NOT NULL,
    url             TEXT NOT NULL,
    event_types     TEXT NOT NULL,      -- JSON array of type names or prefixes ("uk.gatehouse.person.*"); [] = all
    establishments  TEXT NOT NULL,      -- JSON array of codes; [] = all the consumer may see
    secrets         TEXT NOT NULL,      -- JSON array of {id, secret, createdAt, expiresAt}: more than one while rotating
    status          TEXT NOT NULL,      -- active | disabled | deleted
    status_reason   TEXT,
    failing_since   TEXT,
    last_success_at TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX subscriptions_by_consumer ON subscriptions(consumer, status);

CREATE TABLE deliveries (
    subscription_id TEXT NOT NULL REFERENCES subscriptions(id),
    outbox_seq      INTEGER NOT NULL,
    subject         TEXT NOT NULL,      -- the person: one person's events go in order
    status          TEXT NOT NULL,      -- pending | delivered | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_owner     TEXT,
    lease_until     TEXT,
    last_error      TEXT,
    last_status     INTEGER,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    PRIMARY KEY (subscription_id, outbox_seq)
);
CREATE INDEX deliveries_due ON deliveries(status, next_attempt_at);
CREATE INDEX deliveries_by_subject ON deliveries(subscription_id, subject, status, outbox_seq);

CREATE TABLE delivery_cursors (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
);
INSERT INTO delivery_cursors (name, seq) VALUES ('fanout', 0);
INSERT INTO delivery_cursors (name, seq) VALUES ('nats', 0);
