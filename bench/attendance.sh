#!/usr/bin/env bash
# The attendance analytics benchmark: builds the release binary once, then
# runs `gatehouse bench attendance` with the arguments given, e.g.
#
#   bench/attendance.sh                                       # both engines, the national year (~5.3 million appointments)
#   bench/attendance.sh --engine sqlite --appointments 500000 # a quick run
#   bench/attendance.sh --runs 9                              # more runs of each side
#
# Loads the national synthetic year of healthcare appointments into a fresh
# database per engine (several minutes each: the load rate is reported), then
# times the dashboard's figures (attendance_tallies + Figures::from_tallies)
# against the plain GROUP BY over the raw appointments, which must agree.
# Figures: a markdown table on stdout, JSON in target/bench/attendance-<engine>.json.
# Disk: about 3 GB for the SQLite file (in the temp directory) and as much
# for the PostgreSQL schema; both are dropped afterwards unless --keep.
# PostgreSQL: GATEHOUSE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test);
# started here if it is down and this machine manages it with pg_ctlcluster.
set -euo pipefail
cd "$(dirname "$0")/.."

case " $* " in
*" --engine sqlite "* | *" --engine=sqlite "*) ;;
*)
    if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432 \
        && command -v pg_ctlcluster >/dev/null; then
        echo "starting PostgreSQL" >&2
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    fi
    ;;
esac

cargo build --release -p gatehouse-cli
exec "${CARGO_TARGET_DIR:-target}/release/gatehouse" bench attendance "$@"
