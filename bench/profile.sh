#!/usr/bin/env bash
# Where a benchmark's processor time goes: runs one `gatehouse bench …`
# command under `perf record` (call graphs, 499 samples a second, the release
# binary) and prints a `perf report` summary: the share of samples by shared
# object, then the hottest functions (self time) and the hottest call chains
# (time including callees). The raw data stays in target/bench/perf-<label>.data
# for `perf report -i …` or a flame graph.
#
#   bench/profile.sh ingest-sqlite   ingest --engine sqlite --estate demo --only gatehouse
#   bench/profile.sh reads-summary   reads --engine sqlite --seconds 10 --path '/v1/people/{pn}/summary'
#   bench/profile.sh delivery-sqlite delivery --engine sqlite --rate 1000 --seconds 30
#
# Needs perf (Debian: linux-perf) and a kernel that lets this user sample
# itself (kernel.perf_event_paranoid ≤ 2). Builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
label=${1:?usage: bench/profile.sh LABEL BENCH-ARGS…}
shift
command -v perf >/dev/null || { echo "perf is not installed (Debian: apt-get install linux-perf)" >&2; exit 1; }
cargo build --release -p gatehouse-cli >&2
target="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target/bench"
data="$target/bench/perf-$label.data"
perf record -F 499 -g -o "$data" -- "$target/release/gatehouse" bench "$@" >&2
report() { perf report -i "$data" --stdio --no-header "$@" 2>/dev/null | grep -v '^#' | grep -v '^$'; }
echo "== $label: share of samples by shared object"
report --no-children --sort dso --percent-limit 2 | head -15
echo
echo "== $label: hottest functions, self time (≥ 1%)"
report --no-children --sort symbol -g none --percent-limit 1 | head -30
echo
echo "== $label: hottest functions including callees (≥ 5%)"
report --children --sort symbol -g none --percent-limit 5 | head -30
