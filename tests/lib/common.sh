# Shared helpers for shell tests. Source it: . "$FWS_SOURCE_DIR/tests/lib/common.sh"
set -euo pipefail
: "${FWSEAL:?FWSEAL must point at the fwseal binary (run through ctest)}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fwseal-test.XXXXXX")
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
export FWSEAL_PASSPHRASE=${FWSEAL_PASSPHRASE:-test passphrase}
PASSED=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { PASSED=$((PASSED + 1)); }

# expect_exit CODE CMD...: runs CMD, checks its exit status, keeps stderr in $TMP/stderr.
expect_exit() {
  local want=$1; shift
  local got=0
  "$@" >"$TMP/stdout" 2>"$TMP/stderr" || got=$?
  if [ "$got" != "$want" ]; then
    echo "--- stdout:" >&2; cat "$TMP/stdout" >&2
    echo "--- stderr:" >&2; cat "$TMP/stderr" >&2
    fail "exit $got, want $want: $*"
  fi
  ok
}

# expect_stderr REGEX: the last expect_exit printed a matching line on stderr.
expect_stderr() {
  grep -Eq -- "$1" "$TMP/stderr" || { cat "$TMP/stderr" >&2; fail "stderr does not match /$1/"; }
  ok
}

# json_get FILE EXPR: evaluates a JavaScript expression on the parsed JSON document `d`.
json_get() { node -e "const d=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8')); const v=($2); process.stdout.write(typeof v==='string'?v:JSON.stringify(v))" "$1"; }

# flip_bit FILE BIT: flips one bit in place.
flip_bit() {
  node -e "const fs=require('fs');const b=fs.readFileSync(process.argv[1]);const i=+process.argv[2];b[i>>3]^=1<<(i&7);fs.writeFileSync(process.argv[1],b)" "$1" "$2"
}

finish() { echo "$PASSED checks passed"; }
