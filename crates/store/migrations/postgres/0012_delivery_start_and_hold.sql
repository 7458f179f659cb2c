-- A subscription starts at its creation: `start_seq` is the last outbox
-- sequence number written before it, and the fan-out gives it only later
-- events (a replay can still ask for earlier ones). Existing subscriptions
-- keep every event (0).
ALTER TABLE subscriptions ADD COLUMN start_seq BIGINT NOT NULL DEFAULT 0;

-- The claim walks pending deliveries only, in outbox order, instead of every
-- delivery ever made.
CREATE INDEX deliveries_pending ON deliveries(outbox_seq) WHERE status = 'pending';
