#!/usr/bin/env bash
# The web summary page against DESIGN.md §6: time to first byte and size of
# an officer's person page on loopback, against the bare /health/live
# endpoint of the same server in the same run (the baseline), and a check
# that the page references nothing outside the server.
#
#   bench/web-page.sh [requests]       (default 200; needs target/release/gatehouse)
#
# It runs `gatehouse demo` in a fresh directory on a free port, signs in as
# the demo officer, and times each request with curl's time_starttransfer.
set -euo pipefail
N=${1:-200}
BIN=${GATEHOUSE_BIN:-$(cd "$(dirname "$0")/.." && pwd)/target/release/gatehouse}
[ -x "$BIN" ] || { echo "build first: cargo build --release -p gatehouse-cli" >&2; exit 1; }
DIR=$(mktemp -d); trap 'kill $PID 2>/dev/null || true; rm -rf "$DIR"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
GH=http://127.0.0.1:$PORT
(cd "$DIR" && "$BIN" demo --listen 127.0.0.1:$PORT >demo.log 2>&1) & PID=$!
for _ in $(seq 1 600); do curl -sf $GH/health/ready >/dev/null && break; sleep 0.5; done
JAR=$DIR/cookies
TOKEN=$(curl -s -c $JAR $GH/sign-in | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -b $JAR -c $JAR -o /dev/null -w '' -X POST $GH/sign-in \
  --data-urlencode "csrf=$TOKEN" --data-urlencode username=officer.leeds \
  --data-urlencode password=demo-officer-leeds --data-urlencode next=/
PAGE=/people/E5678FG

stats() { # url, cookie? -> "p50 p99 size"
  local url=$1; shift
  for _ in $(seq 1 "$N"); do curl -s -o /dev/null "$@" -w '%{time_starttransfer} %{size_download}\n' "$url"; done \
    | sort -n | awk '{t[NR]=$1*1000; s=$2} END {i=int(NR*0.5)+1; if (i>NR) i=NR; j=int(NR*0.99)+1; if (j>NR) j=NR; printf "%.2f %.2f %d\n", t[i], t[j], s}'
}
read -r bp50 bp99 bsize < <(stats $GH/health/live)
read -r pp50 pp99 psize < <(stats $GH$PAGE -b $JAR)
EXTERNAL=$(curl -s -b $JAR $GH$PAGE | { grep -Eoi '(src|href|action)="(https?:)?//[^"]*"' || true; } | { grep -v "//127.0.0.1:$PORT" || true; } | wc -l)
STATUS=$(curl -s -o /dev/null -b $JAR -w '%{http_code}' $GH$PAGE)
echo "web summary page, $N requests each, nproc $(nproc), $(date -u +%F)"
printf '%-28s %10s %10s %10s\n' "" "p50 TTFB" "p99 TTFB" "bytes"
printf '%-28s %8s ms %8s ms %10s\n' "bare /health/live" "$bp50" "$bp99" "$bsize"
printf '%-28s %8s ms %8s ms %10s\n' "officer's person page ($STATUS)" "$pp50" "$pp99" "$psize"
awk -v a="$pp99" -v b="$bp99" 'BEGIN {printf "p99 TTFB ratio page/bare: %.1fx; target first paint <= 200 ms, page <= 100 KB\n", a/b}'
echo "external references on the page: $EXTERNAL (target 0)"
