-- The fan-out cursor never passes an outbox sequence number that a
-- transaction still in progress may yet commit (PostgreSQL commits out of
-- sequence order). At a gap it records where (`gap_at`) and the snapshot's
-- xmax (`horizon`); once every transaction older than the horizon has
-- finished, a gap still empty is a rolled-back hole and is passed.
ALTER TABLE delivery_cursors ADD COLUMN gap_at BIGINT;
ALTER TABLE delivery_cursors ADD COLUMN horizon BIGINT;
