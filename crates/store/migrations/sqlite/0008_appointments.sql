-- Healthcare appointments (DESIGN.md §1 failures 2, 4 and 5): one booking
-- seen by both sides, the prison's escort plan, the attendance outcome with
-- its history, the clash rules' risks, regime closures, and per-week tallies
-- that keep the attendance figures fast.

CREATE TABLE appointments (
    id                  TEXT PRIMARY KEY,
    series_id           TEXT,
    prison_number       TEXT NOT NULL REFERENCES people(prison_number),
    establishment       TEXT NOT NULL REFERENCES establishments(code),
    type                TEXT NOT NULL,
    starts_at           TEXT NOT NULL,
    ends_at             TEXT NOT NULL,
    minutes             BIGINT NOT NULL,
    day                 TEXT NOT NULL,   -- the (UTC) day of starts_at: unlock lists read by it
    week                TEXT NOT NULL,   -- Monday of that week: tallies group by it
    setting             TEXT NOT NULL,       -- internal | in-cell | external
    room                TEXT,
    location            TEXT,
    clinician           TEXT,                -- health-only
    clinical_note       TEXT,                -- health-only
    owner               TEXT NOT NULL,       -- the consumer that booked it
    owner_user          TEXT,
    status              TEXT NOT NULL,       -- booked | cancelled
    cancellation_reason TEXT,
    escort              TEXT,                -- JSON EscortPlan, recorded by the prison
    escort_by           TEXT,                -- JSON Actor
    escort_at           TEXT,
    outcome             TEXT,
    outcome_reason      TEXT,
    outcome_by          TEXT,                -- JSON Actor
    outcome_at          TEXT,
    outcome_late        BOOLEAN NOT NULL DEFAULT FALSE,
    outcome_automatic   BOOLEAN NOT NULL DEFAULT FALSE,
    version             BIGINT NOT NULL,
    booked_at           TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    schedule_changed_at TEXT NOT NULL      -- last booking or change of time or place
);
CREATE INDEX appointments_by_person ON appointments(prison_number, starts_at);
CREATE INDEX appointments_by_day ON appointments(establishment, day, starts_at);

-- Every booking, change, escort plan, outcome, correction and risk, in order.
CREATE TABLE appointment_history (
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    n              BIGINT NOT NULL,
    version        BIGINT NOT NULL,
    at             TEXT NOT NULL,
    by_consumer    TEXT NOT NULL,
    by_user        TEXT,
    kind           TEXT NOT NULL,
    detail         TEXT NOT NULL,            -- JSON, never health-only fields
    PRIMARY KEY (appointment_id, n)
);

-- The clash rules' findings: open while cleared_at is null.
CREATE TABLE appointment_risks (
    id             TEXT PRIMARY KEY,
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    reason         TEXT NOT NULL,
    source         TEXT NOT NULL,            -- plan:<id> | appointment:<id> | closure:<id> | custody
    detail         TEXT NOT NULL,
    raised_at      TEXT NOT NULL,
    cleared_at     TEXT
);
CREATE INDEX risks_open ON appointment_risks(appointment_id, cleared_at);

-- Establishment-wide closures: a lockdown or a curtailed regime.
CREATE TABLE regime_closures (
    id            TEXT PRIMARY KEY,
    establishment TEXT NOT NULL REFERENCES establishments(code),
    kind          TEXT NOT NULL,             -- lockdown | regime-curtailed
    starts_at     TEXT NOT NULL,
    ends_at       TEXT,
    reason        TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,             -- JSON Actor
    recorded_at   TEXT NOT NULL,
    at_risk       BIGINT NOT NULL
);
CREATE INDEX closures_at ON regime_closures(establishment, starts_at);

-- One row per (establishment, week, type, setting, bucket, reason), kept in
-- step with appointments in the same transaction as every change.
CREATE TABLE attendance_tallies (
    establishment TEXT NOT NULL,
    week          TEXT NOT NULL,
    type          TEXT NOT NULL,
    setting       TEXT NOT NULL,
    bucket        TEXT NOT NULL,             -- an outcome kind, cancelled or not-recorded
    reason        TEXT NOT NULL,             -- '' when the bucket has none
    appointments  BIGINT NOT NULL,
    minutes       BIGINT NOT NULL,
    PRIMARY KEY (establishment, week, type, setting, bucket, reason)
);
CREATE INDEX tallies_by_week ON attendance_tallies(week);
