#!/usr/bin/env bash
# Side by side with Svix (issue 12, item 8): builds the open-source Svix
# server (svix/svix-webhooks, server/) from a fetched copy of its source, then
# sends the same events at the same rates to the same receiver through Svix
# and through Gatehouse (the demo on SQLite), one after the other in one run,
# and prints both latency distributions.
#
#   bench/svix.sh                          # 200/s and 1,000/s for 60 s each, then a ceiling phase
#   bench/svix.sh --seconds 30             # shorter phases
#   bench/svix.sh --rates 200 --ceiling-events 0
#   SVIX_BUILD_ONLY=1 bench/svix.sh        # build Svix and stop
#
# Where Svix's source comes from. This machine cannot clone from GitHub, so
# the script reads bare git mirrors: $SVIX_MIRRORS/svix+svix-webhooks (the
# server) and one per git dependency in server/Cargo.lock
# (svix+omniqueue-rs, svix+rust-executable-metadata, svix+hyper), laid out
# as /work/.mirror/owner+name/repo. Svix pins a fork of hyper at a commit
# the fork's mirror may not hold; then the script takes the crates.io hyper
# of the version Svix pins and applies the fork's one change to it
# (HeaderCaseMap made public, with `get` and `From<HeaderMap<Bytes>>`).
# Everything else comes from crates.io. The build lives in $SVIX_WORK
# (default ~/.cache/gatehouse-svix-bench), apart from Gatehouse's target.
#
# What Svix runs on: a fresh database (svix_bench) on the local PostgreSQL
# (SVIX_PG, default postgres://postgres@127.0.0.1:5432) and Redis as its
# queue (SVIX_REDIS, default redis://127.0.0.1:6379/7, that one logical
# database emptied first; SVIX_QUEUE=memory uses Svix's in-memory queue).
#
# If any step cannot be done here unattended, the script says which step and
# which dependency, and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MIRRORS=${SVIX_MIRRORS:-/work/.mirror}
# Outside this repository: a package under it would believe it is in Gatehouse's workspace.
WORK=${SVIX_WORK:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse-svix-bench}
PG=${SVIX_PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${SVIX_REDIS:-redis://127.0.0.1:6379/7}
QUEUE=${SVIX_QUEUE:-redis}
PORT=${SVIX_PORT:-8071}

cannot() {
    echo "bench/svix.sh: Svix cannot be run here: $*" >&2
    exit 2
}
say() { echo "== $*" >&2; }

# A bare mirror's git directory (fetched snapshots are bare, some with a work tree).
mirror_git() {
    local dir=$MIRRORS/$1/repo
    [[ -d $dir/.git ]] && dir=$dir/.git
    [[ -f $dir/HEAD ]] || return 1
    echo "$dir"
}

has_commit() { git --git-dir="$1" cat-file -e "$2^{commit}" 2>/dev/null; }

# ---- 1. Svix's source ------------------------------------------------------
fetch_source() {
    local git
    git=$(mirror_git svix+svix-webhooks) ||
        cannot "step 'fetch source': no mirror of github.com/svix/svix-webhooks at $MIRRORS/svix+svix-webhooks/repo (GitHub cannot be cloned from this machine; fetch it into that folder)"
    SVIX_REV=${SVIX_REV:-$(git --git-dir="$git" rev-parse HEAD)}
    has_commit "$git" "$SVIX_REV" || cannot "step 'fetch source': commit $SVIX_REV is not in $git"
    SRC=$WORK/src-$SVIX_REV
    if [[ ! -f $SRC/.complete ]]; then
        say "Svix source: svix-webhooks $SVIX_REV, server/"
        rm -rf "$SRC" && mkdir -p "$SRC"
        git --git-dir="$git" archive "$SVIX_REV" server | tar -x -C "$SRC"
        touch "$SRC/.complete"
    fi
}

# ---- 2. Svix's git dependencies, each from its mirror ----------------------
# Writes the [patch] sections that point Cargo at local copies, so nothing
# is fetched from GitHub.
hyper_from_crates_io() {
    local version=$1 into=$2 home=${CARGO_HOME:-$HOME/.cargo} crate probe
    crate=$(ls "$home"/registry/cache/*/hyper-"$version".crate 2>/dev/null | head -1 || true)
    if [[ -z $crate ]]; then
        # Cargo itself downloads the crate: a throwaway package that depends on it.
        probe=$WORK/hyper-probe
        rm -rf "$probe" && mkdir -p "$probe/src"
        printf '[package]\nname = "probe"\nversion = "0.0.0"\nedition = "2021"\n[workspace]\n[dependencies]\nhyper = "=%s"\n' \
            "$version" >"$probe/Cargo.toml"
        : >"$probe/src/lib.rs"
        (cd "$probe" && cargo fetch -q) ||
            cannot "step 'git dependencies': the crates.io hyper $version could not be downloaded (crates.io unreachable?)"
        crate=$(ls "$home"/registry/cache/*/hyper-"$version".crate | head -1)
    fi
    rm -rf "$into" && mkdir -p "$into"
    tar -xzf "$crate" -C "$into" --strip-components=1
    # The fork's one change (svix/hyper "Make HeaderCaseMap public" and
    # "Add `get` method to `HeaderCaseMap`"), applied to the released crate.
    python3 - "$into/src/ext/mod.rs" <<'PY' ||
import re, sys
path = sys.argv[1]
src = open(path).read()
new, n = re.subn(r"pub\(crate\) struct HeaderCaseMap\(HeaderMap<Bytes>\);",
                 "pub struct HeaderCaseMap(HeaderMap<Bytes>);", src)
if n != 1:
    sys.exit("HeaderCaseMap declaration not found")
new, n = re.subn(r"(\nimpl HeaderCaseMap \{\n)",
                 r"\1    /// The spelling first seen for a header name (svix/hyper fork).\n"
                 r"    pub fn get(&self, key: HeaderName) -> Option<&Bytes> {\n"
                 r"        self.0.get(key)\n    }\n\n", new, count=1)
if n != 1:
    sys.exit("impl HeaderCaseMap not found")
new += ('\n#[cfg(all(any(feature = "client", feature = "server"), feature = "http1"))]\n'
        "impl From<HeaderMap<Bytes>> for HeaderCaseMap {\n"
        "    fn from(hdr_map: HeaderMap<Bytes>) -> Self {\n        Self(hdr_map)\n    }\n}\n")
open(path, "w").write(new)
PY
        cannot "step 'git dependencies': the HeaderCaseMap change no longer applies to hyper $version (src/ext/mod.rs changed)"
}

git_dependencies() {
    local server=$SRC/server deps=$WORK/deps-$SVIX_REV patch line url rev name git pkg
    patch=$server/.svix-bench-patch.toml
    [[ -f $patch ]] && return 0
    mkdir -p "$deps"
    : >"$patch.part"
    # Each git source in Cargo.lock: git+URL?rev=REV#REV, with the package above it.
    while IFS='|' read -r pkg url rev; do
        name=${url##*/}
        name=${name%.git}
        if git=$(mirror_git "svix+$name") && has_commit "$git" "$rev"; then
            say "git dependency $pkg: $url@$rev from the mirror $MIRRORS/svix+$name"
            rm -rf "$deps/$name" && mkdir -p "$deps/$name"
            git --git-dir="$git" archive "$rev" | tar -x -C "$deps/$name"
            local dir=$deps/$name
            [[ -f $dir/$pkg/Cargo.toml ]] && dir=$dir/$pkg
            if [[ $pkg == hyper ]]; then
                echo "hyper|$dir" >>"$patch.part"
            else
                echo "$url|$pkg|$dir" >>"$patch.part"
            fi
        elif [[ $pkg == hyper ]]; then
            local version
            version=$(sed -n 's/^hyper = { version = "=\([0-9.]*\)".*/\1/p' "$server/Cargo.toml")
            [[ -n $version ]] || cannot "step 'git dependencies': Svix's pinned hyper version not found in server/Cargo.toml"
            say "git dependency hyper: $url@$rev is not in $MIRRORS/svix+$name; using crates.io hyper $version with the fork's HeaderCaseMap change"
            hyper_from_crates_io "$version" "$deps/hyper-$version"
            echo "hyper|$deps/hyper-$version" >>"$patch.part"
        else
            cannot "step 'git dependencies': $pkg needs $url at $rev, which is not in $MIRRORS/svix+$name/repo (fetch github.com/svix/$name into that folder)"
        fi
    done < <(awk '/^name = /{gsub(/"/,"",$3); pkg=$3}
                  /^source = "git\+/{s=$3; gsub(/"/,"",s); sub(/^git\+/,"",s);
                   split(s, a, "#"); split(a[1], b, "?rev="); print pkg "|" b[1] "|" b[2]}' \
                 "$server/Cargo.lock" | sort -u)

    # Point the existing [patch.crates-io] hyper at the local copy, and add one
    # [patch."<git url>"] per other git dependency.
    local hyper_dir
    hyper_dir=$(sed -n 's/^hyper|//p' "$patch.part")
    if [[ -n $hyper_dir ]]; then
        sed -i "s|^hyper = { git = \"https://github.com/svix/hyper.git\".*|hyper = { path = \"$hyper_dir\" }|" \
            "$server/Cargo.toml"
    fi
    grep -v '^hyper|' "$patch.part" | while IFS='|' read -r url pkg dir; do
        printf '\n[patch."%s"]\n%s = { path = "%s" }\n' "$url" "$pkg" "$dir"
    done >>"$server/Cargo.toml"
    mv "$patch.part" "$patch"
}

# ---- 3. Build --------------------------------------------------------------
build_svix() {
    SVIX_BIN=$WORK/target/release/svix-server
    say "building svix-server (release; the first build takes a long while on 2 cores)"
    (cd "$SRC/server" && CARGO_TARGET_DIR=$WORK/target nice -n 19 \
        cargo build --release -p svix-server --bin svix-server) ||
        cannot "step 'build': cargo build of svix-server failed (see the compiler output above; git dependencies are patched in $SRC/server/Cargo.toml)"
    [[ -x $SVIX_BIN ]] || cannot "step 'build': $SVIX_BIN was not produced"
}

mkdir -p "$WORK"
fetch_source
git_dependencies
build_svix
if [[ -n ${SVIX_BUILD_ONLY:-} ]]; then
    say "built $SVIX_BIN"
    exit 0
fi

# ---- 4. Gatehouse's side: the release binary with `bench svix` -------------
# Built in this checkout's own target (SVIX_GATEHOUSE_TARGET), not an exported
# CARGO_TARGET_DIR shared with other checkouts: Cargo gives the same crate in
# two checkouts the same fingerprint, so a shared target can hold another
# checkout's code and still call it fresh. Copied out so no later build
# replaces it mid-run.
GATEHOUSE_TARGET=${SVIX_GATEHOUSE_TARGET:-$ROOT/target}
say "building gatehouse (release, in $GATEHOUSE_TARGET)"
CARGO_TARGET_DIR=$GATEHOUSE_TARGET nice -n 19 cargo build --release -p gatehouse-cli ||
    { echo "bench/svix.sh: gatehouse did not build" >&2; exit 1; }
GATEHOUSE=$WORK/gatehouse
cp "$GATEHOUSE_TARGET/release/gatehouse" "$GATEHOUSE"
"$GATEHOUSE" bench svix --help >/dev/null 2>&1 ||
    { echo "bench/svix.sh: $GATEHOUSE_TARGET/release/gatehouse has no 'bench svix'" >&2; exit 1; }

# ---- 5. What Svix runs on --------------------------------------------------
command -v psql >/dev/null || cannot "step 'database': psql is not installed (Debian: postgresql-client)"
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432 &&
    command -v pg_ctlcluster >/dev/null; then
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
psql -q "$PG/postgres" -c 'DROP DATABASE IF EXISTS svix_bench' -c 'CREATE DATABASE svix_bench' ||
    cannot "step 'database': could not create the database svix_bench at $PG (PostgreSQL down, or not trust auth?)"

if [[ $QUEUE == redis ]]; then
    if ! redis-cli -u "$REDIS" ping >/dev/null 2>&1; then
        command -v redis-server >/dev/null ||
            cannot "step 'queue': Redis is not running at $REDIS and redis-server is not installed (apt-get install redis-server, or SVIX_QUEUE=memory)"
        say "starting Redis"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
        sleep 1
    fi
    redis-cli -u "$REDIS" flushdb >/dev/null ||
        cannot "step 'queue': Redis at $REDIS does not answer"
fi

# ---- 6. Svix, started -------------------------------------------------------
LOG=$WORK/svix-server.log
export SVIX_DB_DSN=$PG/svix_bench
export SVIX_QUEUE_TYPE=$QUEUE SVIX_CACHE_TYPE=memory
[[ $QUEUE == redis ]] && export SVIX_REDIS_DSN=$REDIS
export SVIX_JWT_SECRET=${SVIX_JWT_SECRET:-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')}
export SVIX_LISTEN_ADDRESS=127.0.0.1:$PORT
# The receiver is on loopback, which Svix refuses unless allowed.
export SVIX_WHITELIST_SUBNETS='[127.0.0.1/32]'
export SVIX_LOG_LEVEL=info SVIX_ENVIRONMENT=dev
SVIX_TOKEN=$("$SVIX_BIN" jwt generate | sed -n 's/^Token (Bearer): //p')
[[ -n $SVIX_TOKEN ]] || cannot "step 'start': svix-server jwt generate gave no token"
export SVIX_TOKEN

say "starting svix-server on 127.0.0.1:$PORT (queue: $QUEUE; log: $LOG)"
"$SVIX_BIN" --run-migrations >"$LOG" 2>&1 &
SVIX_PID=$!
trap 'kill $SVIX_PID 2>/dev/null || true; wait $SVIX_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    kill -0 $SVIX_PID 2>/dev/null || { tail -20 "$LOG" >&2; cannot "step 'start': svix-server exited (log above, whole in $LOG)"; }
    curl -fsS "http://127.0.0.1:$PORT/api/v1/health/" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/api/v1/health/" >/dev/null 2>&1 ||
    cannot "step 'start': svix-server did not answer /api/v1/health/ within 60 s (log: $LOG)"

# ---- 7. The run -------------------------------------------------------------
say "svix-server (svix-webhooks $SVIX_REV) up; running gatehouse bench svix $*"
"$GATEHOUSE" bench svix --svix-url "http://127.0.0.1:$PORT" "$@"
