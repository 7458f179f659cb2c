#!/usr/bin/env bash
# Fuzzes Gatehouse's parsers of outside input with libFuzzer (cargo fuzz),
# each target for a bounded time, and fails on any crash.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      default 30; CI uses ~20
#
# Environment:
#   FUZZ_TARGETS    space-separated targets to run (default: all, see below)
#   FUZZ_SANITIZER  none (default) or address; the parsers are safe Rust, so
#                   the default buys speed and loses nothing that matters
#
# Targets (fuzz/fuzz_targets): feed_json, feed_structured, identifiers, cursor, notice.
# New inputs go to fuzz/corpus/<target> and crashes to fuzz/artifacts/<target>
# (both git-ignored); the committed seeds are read from fuzz/seeds/<target>.
# Logs are in fuzz/logs/<target>.log.
#
# The machine has stable Rust only. cargo fuzz passes unstable -Z flags to
# rustc (sanitizer-coverage instrumentation for libFuzzer); RUSTC_BOOTSTRAP=1
# lets the stable compiler accept them.
set -euo pipefail

secs="${1:-30}"
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -lt 1 ]; then
    echo "usage: $0 [seconds-per-target]" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export RUSTC_BOOTSTRAP=1
sanitizer="${FUZZ_SANITIZER:-none}"
read -r -a targets <<<"${FUZZ_TARGETS:-feed_json feed_structured identifiers cursor notice appointment}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    # Tolerate a concurrent or earlier install: only fail if it is still missing.
    cargo install cargo-fuzz --locked || true
    cargo fuzz --version >/dev/null
fi
echo "== $(cargo fuzz --version), $(rustc --version)"

start=$(date +%s)
echo "== building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)"
for t in "${targets[@]}"; do
    cargo fuzz build --fuzz-dir fuzz --sanitizer "$sanitizer" "$t"
done
built=$(date +%s)
echo "== built in $((built - start)) s"

mkdir -p fuzz/logs
passed=0
failed=()
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    args=(
        "-max_total_time=$secs"
        -timeout=10
        -rss_limit_mb=2048
        -print_final_stats=1
    )
    case "$t" in
        feed_json) args+=(-dict=fuzz/dicts/feed.dict -max_len=8192) ;;
        feed_structured) args+=(-max_len=4096) ;;
        identifiers) args+=(-dict=fuzz/dicts/identifiers.dict -max_len=512) ;;
        cursor) args+=(-max_len=512) ;;
    esac
    log="fuzz/logs/$t.log"
    marker="fuzz/logs/$t.start"
    touch "$marker"
    echo "== fuzzing $t for $secs s"
    # The outer timeout is only a backstop: libFuzzer stops itself at
    # max_total_time, and a hanging input is a crash after -timeout.
    rc=0
    timeout --kill-after=15 "$((secs + 120))" \
        cargo fuzz run --fuzz-dir fuzz --sanitizer "$sanitizer" "$t" \
        "fuzz/corpus/$t" "fuzz/seeds/$t" -- "${args[@]}" >"$log" 2>&1 || rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
    if [ "$rc" -eq 0 ]; then
        echo "   ok: ${runs:-?} inputs, coverage ${cov:-?} edges"
        passed=$((passed + 1))
    else
        echo "   FAILED (exit $rc); from $log:"
        # The panic (or libFuzzer's own error) and the input, else the tail.
        if grep -q -E "panicked at|ERROR: libFuzzer|^Base64:" "$log"; then
            grep -A4 -E "panicked at|ERROR: libFuzzer" "$log" | head -n 30 | sed 's/^/   | /'
            grep -E "^Base64:" "$log" | head -n 1 | sed 's/^/   | input as /'
        else
            tail -n 40 "$log" | sed 's/^/   | /'
        fi
        find "fuzz/artifacts/$t" -type f -newer "$marker" | while read -r a; do
            echo "   crashing input: $a"
            echo "   reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz -s $sanitizer $t $a"
        done
        failed+=("$t")
    fi
done

echo "== fuzzed for $(( $(date +%s) - built )) s after a $((built - start)) s build"
echo "fuzz: $passed passed, ${#failed[@]} failed"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "failing targets: ${failed[*]}" >&2
    exit 1
fi
