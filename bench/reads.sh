#!/usr/bin/env bash
# The read benchmark (DESIGN.md §6, point-of-need read): builds the release
# binary once, then runs `gatehouse bench reads` with the arguments given, e.g.
#
#   bench/reads.sh                                  # both engines, the national estate, 10 s per scenario
#   bench/reads.sh --engine sqlite --estate demo --seconds 5   # a quick run over 400 people
#   bench/reads.sh --path '/v1/people/{pn}/summary' # another read
#
# Figures: a table on stdout, JSON in target/bench/reads-<engine>.json.
# The load generator runs in the same process as the servers: client and
# servers share this machine's cores.
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
exec "${CARGO_TARGET_DIR:-target}/release/gatehouse" bench reads "$@"
