-- Every Gatehouse instance on this database hears at once that the outbox has
-- grown, whichever instance wrote it: one NOTIFY per inserting statement,
-- which PostgreSQL delivers at commit (and folds into one per transaction).
-- The delivery dispatchers LISTEN on `gatehouse_outbox` and wake, instead of
-- finding the event on their next poll. (SQLite has one process, which wakes
-- its own dispatcher directly.)
CREATE FUNCTION gatehouse_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gatehouse_outbox', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_outbox_notify();
