#!/usr/bin/env bash
# Where Gatehouse's ingest spends its database time, statement by statement:
# runs only Gatehouse's side of `gatehouse bench ingest` with sqlx's per-statement
# log on (target `sqlx::query`, which records each statement's elapsed time
# as the client sees it) and sums it by statement.
#
#   bench/profile-statements.sh sqlite                 # the first 5,000 items of the demo estate
#   bench/profile-statements.sh postgres --limit 20000  # other options replace those defaults
#
# Needs jq. Uses the release binary built by bench/ingest.sh.
# Transaction and savepoint statements are not all logged by sqlx, and on
# SQLite the time to hand each statement to sqlx's worker thread is outside
# the logged time: compare the logged total with the wall time printed.
set -euo pipefail
cd "$(dirname "$0")/.."
engine=${1:?usage: bench/profile-statements.sh sqlite|postgres [bench ingest options]}
shift
opts=("$@")
if [ ${#opts[@]} -eq 0 ]; then opts=(--estate demo --limit 5000); fi
log=$(mktemp --suffix=.jsonl)
bin="${CARGO_TARGET_DIR:-target}/release/gatehouse"
GATEHOUSE_LOG=warn,sqlx::query=debug "$bin" --log-json bench ingest --only gatehouse \
    --engine "$engine" "${opts[@]}" >"$log"
echo
echo "count  total ms  mean µs  statement"
jq -rs '
  [ .[] | select(.target == "sqlx::query") | .fields
    | {s: ((.["db.statement"] // .summary) | gsub("\\s+"; " ") | .[0:100]), t: .elapsed_secs} ]
  | (map(.t) | add) as $all
  | group_by(.s) | map({n: length, total: (map(.t) | add), s: .[0].s})
  | sort_by(-.total) | .[0:20][]
  | "\(.n)\t\(.total * 1000 | floor)\t\(.total / .n * 1e6 | floor)\t\(.s)"
' "$log"
jq -rs '[ .[] | select(.target == "sqlx::query") ] | "\(length) statements logged, \(map(.fields.elapsed_secs) | add | . * 10 | floor / 10)s in all"' "$log"
rm -f "$log"
