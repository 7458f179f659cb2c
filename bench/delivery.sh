#!/usr/bin/env bash
# The delivery benchmark (DESIGN.md §6, prison event in → webhook received on
# loopback): builds the release binary once, then runs `gatehouse bench
# delivery` with the arguments given, e.g.
#
#   bench/delivery.sh                                  # both engines, 1,000 events/s for 60 s
#   bench/delivery.sh --engine sqlite --seconds 20     # one engine, a shorter run
#   bench/delivery.sh --rate 200 --ceiling-events 0    # another rate, no ceiling phase
#
# Figures: a table per engine on stdout, JSON in target/bench/delivery-<engine>.json.
# Gatehouse, the webhook receiver and the poster all run in this one process
# and share this machine's cores.
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
exec "${CARGO_TARGET_DIR:-target}/release/gatehouse" bench delivery "$@"
