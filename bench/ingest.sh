#!/usr/bin/env bash
# The ingest benchmark (DESIGN.md §6, bulk load): builds the release binary
# once, then runs `gatehouse bench ingest` with the arguments given, e.g.
#
#   bench/ingest.sh                                  # both engines, national estate
#   bench/ingest.sh --engine sqlite --limit 200000   # a quick run
#
# Figures: a table on stdout, JSON in target/bench/ingest-<engine>.json.
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
exec "${CARGO_TARGET_DIR:-target}/release/gatehouse" bench ingest "$@"
