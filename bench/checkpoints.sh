#!/usr/bin/env bash
# What signing an audit checkpoint every second costs: builds the release
# binary once, then runs `gatehouse bench checkpoints` on each engine given
# (default both), e.g.
#
#   bench/checkpoints.sh                       # SQLite then PostgreSQL, 30 s a side
#   bench/checkpoints.sh --seconds 60 --rate 500
#
# Each engine: a fresh database, the real checkpointer at a 1 s cadence and,
# as the baseline in the same run, at 60 s, under the same write load. Prints
# the CPU ratio of the two sides, CPU per checkpoint and per hour, and the
# checkpoint rows and bytes a day of writing makes.
# PostgreSQL: GATEHOUSE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
# started here if it is down and this machine manages it with pg_ctlcluster.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432 \
    && command -v pg_ctlcluster >/dev/null; then
    echo "starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi

cargo build --release -p gatehouse-cli
for engine in sqlite postgres; do
    "${CARGO_TARGET_DIR:-target}/release/gatehouse" bench checkpoints --engine "$engine" "$@"
done
