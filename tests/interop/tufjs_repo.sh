#!/usr/bin/env bash
# tuf-js, a TUF client we did not write, against repositories made by `fwseal`: it refreshes and
# downloads targets over HTTP (node's http module serving the repository on 127.0.0.1, a free
# port) after releases, a timestamp refresh, rotations of the targets and root keys, and a
# revocation; @tufjs/models verifies every metadata file's signatures on its own. Once with
# Ed25519 keys and the targets in the top-level role, once with P-256 keys and TAP 15 hashed bins.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
HERE="$FWS_SOURCE_DIR/tests/interop"
cd "$TMP"

SRV_PID=
stop_server() {
  if [ -n "$SRV_PID" ]; then
    exec 3>&- # the server stops when its standard input closes
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=
  fi
}
trap 'stop_server; cleanup' EXIT

# start_server DIR: serves DIR, sets PORT.
start_server() {
  rm -f srv.in port.txt
  mkfifo srv.in
  node "$HERE/tufjs_repo_serve.mjs" "$1" 300000 <srv.in >port.txt &
  SRV_PID=$!
  exec 3>srv.in
  for _ in $(seq 1 100); do
    [ -s port.txt ] && break
    sleep 0.1
  done
  PORT=$(head -n1 port.txt)
  [ -n "$PORT" ] || fail "the static server did not start"
}

# tufjs CACHE TARGET [OUT]: one tuf-js refresh and lookup (and download); summary in tufjs.json.
tufjs() {
  local out=()
  [ $# -ge 3 ] && out=(--out "$3")
  node "$HERE/tufjs_repo_client.mjs" --url "http://127.0.0.1:$PORT" --cache "$1" \
    --root "$DEPLOY/repo/metadata/1.root.json" --target "$2" "${out[@]}" >tufjs.json \
    2>tufjs.err || { cat tufjs.err >&2; fail "tuf-js failed on $2"; }
}

models_check() {
  node "$HERE/tufjs_repo_models.mjs" "$DEPLOY/repo/metadata" >models.json 2>models.err ||
    { cat models.err >&2; fail "@tufjs/models rejects fwseal metadata ($1)"; }
  ok
}

release() { # release VERSION COUNTER [extra args]
  local v=$1 c=$2
  shift 2
  mkdir -p "build-$v"
  head -c $((50000 + c * 1000)) /dev/urandom >"build-$v/fw.bin"
  expect_exit 0 "$FWSEAL" release add --dir "$DEPLOY" "build-$v/fw.bin" --product hub \
    --version "$v" --hardware hub-v2 --security-counter "$c" "$@"
}

# ---- Ed25519, targets in the top-level role ----------------------------------------------------
DEPLOY=$TMP/deploy
expect_exit 0 "$FWSEAL" init --dir "$DEPLOY" --origin example.com/hub --root-keys 2 \
  --root-threshold 2
printf 'Fixes the radio.\nAdds a "quiet" mode.\n' >CHANGES
release 1.0.0 1 --changelog CHANGES --region eu,us
start_server "$DEPLOY/repo"

tufjs c1 hub/1.0.0/fw.bin dl-1.0.0.bin
cmp dl-1.0.0.bin build-1.0.0/fw.bin || fail "tuf-js downloaded other bytes than the image"
[ "$(json_get tufjs.json 'd.custom.fwseal.securityCounter')" = 1 ] || fail "custom.securityCounter"
[ "$(json_get tufjs.json 'd.custom.fwseal.changelog')" = "$(cat CHANGES)" ] || fail "changelog"
[ "$(json_get tufjs.json 'd.custom.fwseal.regions.join()')" = "eu,us" ] || fail "regions"
ok
models_check "first release"

# A second release: the same client (with its trusted metadata) finds it.
release 1.1.0 2
tufjs c1 hub/1.1.0/fw.bin dl-1.1.0.bin
cmp dl-1.1.0.bin build-1.1.0/fw.bin || fail "second release: other bytes"
[ "$(json_get tufjs.json d.versions.targets)" = 3 ] || fail "targets version after 2 releases"
ok

# A timestamp refresh is a new timestamp the client accepts.
expect_exit 0 "$FWSEAL" repo refresh --dir "$DEPLOY" --force
tufjs c1 hub/1.1.0/fw.bin
[ "$(json_get tufjs.json d.versions.timestamp)" = 4 ] || fail "timestamp version after refresh"
ok

# Rotating the targets key: root 2; the client walks from root 1 to 2 and still downloads.
expect_exit 0 "$FWSEAL" key rotate --dir "$DEPLOY" targets
tufjs c1 hub/1.0.0/fw.bin dl-rot.bin
cmp dl-rot.bin build-1.0.0/fw.bin || fail "after targets rotation: other bytes"
[ "$(json_get tufjs.json d.versions.root)" = 2 ] || fail "root version after targets rotation"
ok
# Rotating root itself (3 new keys, 2 needed): 3.root.json, signed by the old and new keys.
expect_exit 0 "$FWSEAL" key rotate --dir "$DEPLOY" root --keys 3 --threshold 2
[ -f "$DEPLOY/repo/metadata/3.root.json" ] || fail "no 3.root.json"
tufjs c1 hub/1.1.0/fw.bin dl-rot2.bin
[ "$(json_get tufjs.json d.versions.root)" = 3 ] || fail "root version after root rotation"
cmp dl-rot2.bin build-1.1.0/fw.bin || fail "after root rotation: other bytes"
ok
# A new client that only trusts root 1 gets there too.
tufjs fresh hub/1.1.0/fw.bin dl-fresh.bin
[ "$(json_get tufjs.json d.versions.root)" = 3 ] || fail "a new client does not reach root 3"
ok
models_check "after rotations"

# A revoked target is no longer found; the other one still is.
expect_exit 0 "$FWSEAL" release revoke --dir "$DEPLOY" --product hub --version 1.0.0 \
  --reason "boot loop on hub-v2"
tufjs c1 hub/1.0.0/fw.bin
[ "$(json_get tufjs.json d.found)" = false ] || fail "tuf-js still finds the revoked target"
tufjs c1 hub/1.1.0/fw.bin
[ "$(json_get tufjs.json d.found)" = true ] || fail "tuf-js lost the other target"
ok
models_check "after a revocation"
stop_server

# ---- P-256 keys, TAP 15 succinct hashed bins ---------------------------------------------------
DEPLOY=$TMP/binned
expect_exit 0 "$FWSEAL" init --dir "$DEPLOY" --origin example.com/plug --key-type p256 \
  --bins-threshold 3 --bins-bit-length 3
release 2.0 1
release 2.1 1
[ -n "$(ls "$DEPLOY"/repo/metadata/*.bins-0.json)" ] || fail "no hashed bins were made"
start_server "$DEPLOY/repo"
for v in 2.0 2.1; do
  tufjs c2 "hub/$v/fw.bin" "dl-$v.bin"
  cmp "dl-$v.bin" "build-$v/fw.bin" || fail "hashed bins: other bytes for $v"
  ok
done
# tuf-js fetched the top-level targets and the bins it needed, not all of them.
fetched=$(ls c2 | grep -c '^bins-' || true)
[ "$fetched" -ge 1 ] && [ "$fetched" -le 2 ] || fail "tuf-js fetched $fetched bins"
ok
release 2.2 2
expect_exit 0 "$FWSEAL" key rotate --dir "$DEPLOY" targets
tufjs c2 hub/2.2/fw.bin dl-2.2.bin
cmp dl-2.2.bin build-2.2/fw.bin || fail "hashed bins after targets rotation: other bytes"
ok
models_check "hashed bins"
[ "$(json_get models.json d.verified)" -ge 12 ] || fail "@tufjs/models checked too few files"
ok
stop_server
finish
