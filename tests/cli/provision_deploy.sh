#!/usr/bin/env bash
# Provisioning inside a deployment made by `fwseal init`: the events go to the deployment's
# ledger and the bundle carries the deployment's trust anchors (TUF root, ledger vkey, and the
# server pin once the deployment has one).
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"
D=$TMP/deploy
expect_exit 0 "$FWSEAL" init --dir "$D" --origin example.com/firmware
expect_exit 0 "$FWSEAL" ca init --dir "$D" --env prod
expect_exit 0 "$FWSEAL" device model add --dir "$D" hub-v2
openssl ecparam -name prime256v1 -genkey -noout -out d.key 2>/dev/null
openssl req -new -key d.key -subj /CN=d -out d.csr
expect_exit 0 "$FWSEAL" provision --dir "$D" --env prod --serial SN-1 --model hub-v2 --batch B \
  --csr d.csr --out b1 --json
[ "$(json_get stdout d.ledger_index)" = 0 ] || fail "no ledger record"
[ "$(json_get stdout 'd.anchors["root.json"]')" = true ] || fail "root.json not found"
[ "$(json_get stdout 'd.anchors["ledger.vkey"]')" = true ] || fail "ledger vkey not found"
[ "$(json_get stdout 'd.anchors["server.pin"]')" = false ] || fail "server.pin reported present"
cmp -s b1/root.json "$D/repo/metadata/root.json" || fail "root.json differs"
[ "$(json_get b1/root.json 'd.signed._type')" = root ] || fail "root.json is not TUF root metadata"
[ "$(cat b1/ledger.vkey)" = "$(json_get "$D/ledger/log.json" d.vkey)" ] || fail "ledger.vkey differs"
# The record is in the deployment's ledger, proven against its checkpoint.
expect_exit 0 "$FWSEAL" log get --dir "$D/ledger" --vkey "$(cat b1/ledger.vkey)" 0
grep -q '"serial":"SN-1"' stdout || fail "the record is not the provision"
# The text output names what is missing.
openssl ecparam -name prime256v1 -genkey -noout -out e.key 2>/dev/null
openssl req -new -key e.key -subj /CN=e -out e.csr
expect_exit 0 "$FWSEAL" provision --dir "$D" --env prod --serial SN-2 --model hub-v2 --batch B \
  --csr e.csr --out b2
grep -q "missing trust anchors: server.pin" stdout || fail "missing anchors not reported"
finish
