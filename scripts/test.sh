#!/usr/bin/env bash
# The whole test suite: every crate's unit, property and integration tests
# (store and server tests run on SQLite and on PostgreSQL), then a bounded
# fuzzing pass over every parser of outside input.
#
# Needs PostgreSQL at postgres://postgres@127.0.0.1:5432/test (override with
# GATEHOUSE_TEST_POSTGRES_URL). A test that cannot reach it fails; none skips.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --workspace --all-targets --locked

# The three parser targets; the cursor target (which builds the whole store)
# runs with `scripts/fuzz.sh` alone, to keep CI inside its time budget.
FUZZ_TARGETS="${FUZZ_TARGETS:-feed_json feed_structured identifiers notice appointment}" scripts/fuzz.sh "${GATEHOUSE_FUZZ_SECONDS:-20}"
