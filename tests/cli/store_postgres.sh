#!/usr/bin/env bash
# The storage suite (tests/unit/test_store.c) against a real PostgreSQL 15 server started here,
# plus two processes sharing that server the way several `fwseal serve` processes do.
# PostgreSQL is not optional: when the server cannot start, this test fails.
set -euo pipefail
: "${FWS_SOURCE_DIR:?FWS_SOURCE_DIR must point at the source tree (run through ctest)}"
: "${FWS_BUILD_DIR:?FWS_BUILD_DIR must point at the build tree (run through ctest)}"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

bin=$FWS_BUILD_DIR/tests/test_store
[ -x "$bin" ] || fail "$bin is not built (cmake --build ... --target test_store)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$FWS_SOURCE_DIR/tests/lib/pg.sh"
pg_start || fail "cannot start PostgreSQL from ${PG_BIN} (scripts/setup installs it)"

url=$(pg_createdb fwseal_store) || fail "cannot create a database"
FWS_PG_URL=$url "$bin" >"$tmp/out" 2>&1 || {
    cat "$tmp/out" >&2
    fail "the storage suite failed (see above)"
}
# Once on SQLite, once on PostgreSQL; nothing failed, and nothing was skipped on PostgreSQL
# (the SQLite run skips the PostgreSQL-only tests).
runs=$(grep -c '^\[==========\] Running' "$tmp/out" || true)
[ "$runs" = 2 ] || {
    cat "$tmp/out" >&2
    fail "expected a SQLite and a PostgreSQL run, saw $runs"
}
if grep -q 'FAILED' "$tmp/out" ||
    awk '/^\[==========\] Running/ { n++ } n == 2 && /SKIPPED/ { bad = 1 } END { exit !bad }' \
        "$tmp/out"; then
    cat "$tmp/out" >&2
    fail "a test failed or was skipped on PostgreSQL"
fi

# Two whole suites at once on one database, like the serve processes of two deployments sharing
# a server: each test lives in its own schema, and leadership and migrations are locked per
# schema, so neither may disturb the other.
url2=$(pg_createdb fwseal_store_b) || fail "cannot create a second database"
FWS_PG_URL=$url2 "$bin" >"$tmp/a" 2>&1 &
a=$!
FWS_PG_URL=$url2 "$bin" >"$tmp/b" 2>&1 || {
    cat "$tmp/b" >&2
    fail "concurrent suite B failed"
}
wait "$a" || {
    cat "$tmp/a" >&2
    fail "concurrent suite A failed"
}

# What the store wrote is plain SQL another client can read.
v=$(pg_psql fwseal_store -tA -c "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'fws_test_%'")
[ "$v" = 0 ] || fail "the suite left $v test schemas behind"

echo "storage suite passed on SQLite and PostgreSQL, and twice at once on one server"
