-- The attendance figures' cache: one row per (establishment, week) holding
-- that week's tallies packed into one value, so the dashboard reads one row
-- per prison-week instead of one per tally. Every tally change of the week
-- bumps `gen` and empties `data` in the same transaction; a reader that
-- rebuilds `data` writes it back only if `gen` is unchanged, so the cache
-- can be missing but never wrong.
CREATE TABLE attendance_week_cache (
    establishment TEXT NOT NULL,
    week          DATE NOT NULL,
    gen           BIGINT NOT NULL,
    data          TEXT,
    PRIMARY KEY (establishment, week)
);
CREATE INDEX week_cache_by_week ON attendance_week_cache(week);

INSERT INTO attendance_week_cache (establishment, week, gen, data)
SELECT DISTINCT establishment, week, 1, NULL FROM attendance_tallies;
