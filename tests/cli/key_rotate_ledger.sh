#!/usr/bin/env bash
# fwseal key rotate records every key change in the deployment's ledger: one `key` record per
# key a role gains ("add") and per key it loses ("revoke"), naming the key by fwseal's key ID;
# each record is proven included with `fwseal log prove` and checked offline with
# `fwseal log verify-proof`. A rotation whose ledger cannot be written publishes nothing, and
# running it again finishes it.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"

expect_exit 0 "$FWSEAL" init --dir d --origin example.com/hub
json_get d/ledger/log.json d.vkey >vkey
keyid_of() { "$FWSEAL" key show --json "$1" >ks.json && json_get ks.json d.keyid; }

# check_record INDEX ROLE ACTION KEYID: the record as stored, and its offline proof.
check_record() {
  expect_exit 0 "$FWSEAL" log prove --dir d/ledger --index "$1" --vkey vkey --out "p$1.tlog-proof" \
    --entry-out "e$1.json"
  expect_exit 0 "$FWSEAL" log verify-proof --vkey vkey --proof "p$1.tlog-proof" "e$1.json"
  [ "$(json_get "e$1.json" d.type)" = key ] || fail "record $1: type"
  [ "$(json_get "e$1.json" d.schema)" = 1 ] || fail "record $1: schema"
  [ "$(json_get "e$1.json" d.role)" = "$2" ] || fail "record $1: role"
  [ "$(json_get "e$1.json" d.action)" = "$3" ] || fail "record $1: action"
  [ "$(json_get "e$1.json" d.keyid)" = "$4" ] || fail "record $1: keyid"
  json_get "e$1.json" d.time | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' ||
    fail "record $1: time"
  ok
}

# ---- targets: one key out, one key in ------------------------------------------------------
old=$(keyid_of d/keys/targets-*.pub)
expect_exit 0 "$FWSEAL" key rotate --dir d targets --json
cp stdout rot1.json
[ "$(json_get rot1.json d.ledgerRecords.length)" = 2 ] || fail "two records"
newpub=$(for f in d/keys/targets-*.pub; do if [ "$(keyid_of "$f")" != "$old" ]; then echo "$f"; fi; done)
new=$(keyid_of "$newpub")
[ "$(json_get rot1.json 'd.ledgerRecords[0].action')" = add ] || fail "first record adds"
[ "$(json_get rot1.json 'd.ledgerRecords[0].keyid')" = "$new" ] || fail "added key"
[ "$(json_get rot1.json 'd.ledgerRecords[1].action')" = revoke ] || fail "second record revokes"
[ "$(json_get rot1.json 'd.ledgerRecords[1].keyid')" = "$old" ] || fail "removed key"
i_add=$(json_get rot1.json 'd.ledgerRecords[0].ledgerIndex')
i_rev=$(json_get rot1.json 'd.ledgerRecords[1].ledgerIndex')
check_record "$i_add" targets add "$new"
check_record "$i_rev" targets revoke "$old"
# The ledger's index finds them by type.
expect_exit 0 "$FWSEAL" log search --dir d/ledger --type key
[ "$(tr '\n' ' ' <stdout)" = "$i_add $i_rev " ] || fail "log search --type key"

# A tampered record does not verify against its proof.
sed 's/"action":"revoke"/"action":"add"/' "e$i_rev.json" >forged.json
expect_exit 1 "$FWSEAL" log verify-proof --vkey vkey --proof "p$i_rev.tlog-proof" forged.json

# ---- root: two new keys with threshold 2, the old one out ----------------------------------
oldroot=$(keyid_of d/keys/root-*.pub)
expect_exit 0 "$FWSEAL" key rotate --dir d root --keys 2 --threshold 2 --json
cp stdout rot2.json
[ "$(json_get rot2.json d.ledgerRecords.length)" = 3 ] || fail "three root records"
[ "$(json_get rot2.json 'd.ledgerRecords.filter(r => r.action == "add").length')" = 2 ] ||
  fail "two root keys added"
[ "$(json_get rot2.json 'd.ledgerRecords.filter(r => r.action == "revoke")[0].keyid')" = \
  "$oldroot" ] || fail "old root key revoked"
for k in 0 1 2; do
  idx=$(json_get rot2.json "d.ledgerRecords[$k].ledgerIndex")
  check_record "$idx" root "$(json_get rot2.json "d.ledgerRecords[$k].action")" \
    "$(json_get rot2.json "d.ledgerRecords[$k].keyid")"
done
# Every added root key is one of the root's public key files.
for k in $(json_get rot2.json 'd.ledgerRecords.filter(r => r.action == "add").map(r => r.keyid).join(" ")'); do
  found=0
  for f in d/keys/root-*.pub; do [ "$(keyid_of "$f")" = "$k" ] && found=1; done
  [ $found = 1 ] || fail "added root key $k has no public key file"
done
ok
# The text output lists the records too.
expect_exit 0 "$FWSEAL" key rotate --dir d snapshot
grep -Eq '^  ledger record [0-9]+: add snapshot key, fwseal key ID [0-9a-f]{64}$' stdout || fail "text: add"
grep -Eq '^  ledger record [0-9]+: revoke snapshot key, fwseal key ID [0-9a-f]{64}$' stdout || fail "text: revoke"
expect_exit 0 "$FWSEAL" log verify --vkey vkey --dir d/ledger
ok

# ---- the ledger cannot be written: nothing is published; running again finishes ---------------
version=$(json_get d/repo/metadata/root.json d.signed.version)
mv d/ledger/log.json log.json.away
expect_exit 2 "$FWSEAL" key rotate --dir d timestamp
expect_stderr "recording the key change in the ledger failed \(run .fwseal key rotate timestamp. again"
[ "$(json_get d/repo/metadata/root.json d.signed.version)" = "$version" ] ||
  fail "root published although the ledger refused"
[ ! -e "d/repo/metadata/$((version + 1)).root.json" ] || fail "root $((version + 1)) written"
mv log.json.away d/ledger/log.json
expect_exit 0 "$FWSEAL" key rotate --dir d timestamp --json
[ "$(json_get stdout d.rootVersion)" = $((version + 1)) ] || fail "finished rotation"
[ "$(json_get stdout d.ledgerRecords.length)" = 2 ] || fail "finished rotation's records"
expect_exit 0 "$FWSEAL" log verify --vkey vkey --dir d/ledger
finish
