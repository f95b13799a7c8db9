#!/usr/bin/env bash
# Publishing survives a crash: `fwseal release add` killed with SIGKILL at random points leaves a
# repository whose timestamp leads to a complete, correctly signed consistent snapshot (checked by
# @tufjs/models), and the next release publishes normally.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"

models() {
  node "$FWS_SOURCE_DIR/tests/interop/tufjs_repo_models.mjs" d/repo/metadata >models.json \
    2>models.err || { cat models.err >&2; fail "$1: the served metadata does not verify"; }
}

expect_exit 0 "$FWSEAL" init --dir d --origin example.com/hub
head -c 4000000 /dev/urandom >fw.bin
expect_exit 0 "$FWSEAL" release add --dir d fw.bin --product hub --version 1.0 --hardware h \
  --security-counter 1
killed=0
for i in $(seq 1 12); do
  head -c 4000000 /dev/urandom >"crash-$i.bin"
  "$FWSEAL" release add --dir d "crash-$i.bin" --product hub --version "2.$i" --hardware h \
    --security-counter 1 >/dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 7))$((RANDOM % 10))"
  if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
  wait "$pid" 2>/dev/null || true
  models "after a kill during release 2.$i"
  ok
  # The lock died with the process; the next release goes through and is served.
  head -c 1000 /dev/urandom >"next-$i.bin"
  expect_exit 0 "$FWSEAL" release add --dir d "next-$i.bin" --product hub --version "3.$i" \
    --hardware h --security-counter 1
  models "after release 3.$i"
  grep -q "\"$(json_get d/repo/metadata/timestamp.json \
    'd.signed.meta["snapshot.json"].version').snapshot.json\"" models.json ||
    fail "the models check did not follow the current snapshot"
done
[ "$killed" -gt 0 ] || fail "no release was killed"
expect_exit 0 "$FWSEAL" release list --dir d
finish
