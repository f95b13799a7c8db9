#!/usr/bin/env bash
# Attestation gating end to end: `fwseal serve` with DEPLOY/attestation.json requiring a passing
# TPM attestation before an update, fwseal-agent --attest against a real swtpm. A device that has
# not attested is told "attestation required"; an honest device attests and gets the update; a
# device whose measured image is not in the ledger fails, is quarantined (ledger record, alert)
# and gets no update; a software-key device is refused under "minAssurance": "tpm".
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/agent.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"
. "$FWS_SOURCE_DIR/tests/lib/swtpm.sh"
trap 'swtpm_stop; _srv_cleanup' EXIT
cd "$TMP"
D=$SRV_DEPLOY
swtpm_start "$TMP/tpm" || fail "swtpm did not start"

# ---- a deployment: hub 1.0.0 (what devices run) and 1.1.0 (the update) ---------------------------
srv_deploy
head -c 50000 /dev/urandom >fw1.bin
head -c 60000 /dev/urandom >fw2.bin
head -c 50000 /dev/urandom >evil.bin
"$FWSEAL" release add --dir "$D" fw1.bin --product hub --version 1.0.0 --hardware hub-v2 \
  --security-counter 1 >/dev/null || fail "release 1.0.0"
"$FWSEAL" release add --dir "$D" fw2.bin --product hub --version 1.1.0 --hardware hub-v2 \
  --security-counter 2 >/dev/null || fail "release 1.1.0"
"$FWSEAL" serve cert --dir "$D" >/dev/null || fail "serve cert"
cat >"$D/attestation.json" <<'JSON'
{"requireForUpdates": true, "maxAgeSeconds": 86400, "minAssurance": "tpm",
 "stages": [{"name": "app", "pcr": 11, "ledgerProduct": "hub"}]}
JSON

# AK certificates from the environment's issuing CA (CN = device ID, TCG AIK purpose).
cat >ext.cnf <<'CNF'
[ak]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = 2.23.133.8.3
[sw]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
issue() { # CSR(DER) EXT OUT
  openssl x509 -req -in "$1" -inform DER -CA "$D/pki/prod/intermediate.crt" \
    -CAkey "$D/pki/prod/intermediate.key" -passin env:FWSEAL_PASSPHRASE -CAcreateserial \
    -days 30 -extfile ext.cnf -extensions "$2" -out "$3" 2>/dev/null || fail "issuing $3"
}
device() { # NAME: provisioned device with its key in the bundle; prints the ID
  local id
  id=$(srv_device "$1")
  openssl pkcs8 -topk8 -in "$1.key" -out "$1/device.key" -passout env:FWSEAL_PASSPHRASE ||
    fail "encrypting $1's key"
  echo "$id"
}
ID1=$(device d1) # honest, TPM
ID2=$(device d2) # never attests
ID3=$(device d3) # TPM, runs an image the ledger does not know
ID4=$(device d4) # software key
for n in 1 3; do
  id=$(eval echo "\$ID$n")
  "$FWSEAL" attest ak-create --csr "ak$n.csr" --cn "$id" >/dev/null || fail "ak-create d$n"
  issue "ak$n.csr" ak "d$n/ak.crt"
done
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sw.key 2>/dev/null
openssl req -new -key sw.key -subj "/CN=$ID4" -outform DER -out sw.csr 2>/dev/null
issue sw.csr sw d4/ak.crt

srv_start
admin=$("$FWSEAL" token create --dir "$D" --role admin --name ops --json | json_get /dev/stdin d.token)
for n in 1 2 3 4; do cp "$D/keys/assignment.pub" "d$n/" && agent_device "d$n.slots" fw1.bin; done
expect_exit 0 "$FWSEAL" rollout create --dir "$D" --release hub/1.1.0 --stages 100 \
  --quarantine 0s --json
R=$(json_get "$TMP/stdout" d.id)
for i in $(seq 1 100); do
  "$FWSEAL" rollout show --dir "$D" "$R" --json >rollout.json 2>/dev/null || true
  [ "$(json_get rollout.json d.state 2>/dev/null)" = running ] && break
  sleep 0.2
done
[ "$(json_get rollout.json d.state)" = running ] || fail "rollout did not start"

agent() { # NAME ARGS...: one pass of device NAME
  local n=$1; shift
  "$FWSEAL_AGENT" --server "$SRV_URL" --bundle "$n" --state "$n.st" --slot-backend file \
    --slot-dir "$n.slots" --hardware hub-v2 --product hub --version 1.0.0 --once --no-est \
    --json "$@"
}
# reason NAME: the reason field of the device's signed assignment (and its target)
reason() {
  srv_dcurl "$1" "/api/v1/device/assignment?nonce=00112233445566778899aabbccddeeff"
  expect_status 200
  node -e "const e=JSON.parse(require('fs').readFileSync(process.argv[1]));
const p=JSON.parse(Buffer.from(e.payload,'base64'));process.stdout.write((p.target===null?'null':p.target)+'|'+(p.reason||''))" \
    "$TMP/body"
}
# fleet NAME FIELD: a field of the device's fleet record (GET /api/v1/devices/ID)
fleet() {
  srv_curl "/api/v1/devices/$1" -H "Authorization: Bearer $admin"
  expect_status 200
  json_get "$TMP/body" "d.$2"
}
status_of() { fleet "$1" status; }
measure() { # NAME IMAGE: a boot of the device, measuring IMAGE as its app stage
  swtpm_reboot
  mkdir -p "$1.st"
  rm -f "$1.st/attest.log"
  "$FWSEAL" attest measure --log "$1.st/attest.log" --pcr 11 --stage app --file "$2" >/dev/null ||
    fail "measure $1"
}

# ---- a device that has not attested gets no update --------------------------------------------
expect_exit 0 agent d2
[ "$(json_get stdout d.outcome)" = up-to-date ] || fail "unattested device: $(cat stdout)"
[ "$(reason d2)" = "null|attestation required" ] || fail "reason: $(reason d2)"
srv_dcurl d2 /api/v1/device/attestation -X POST -H 'Content-Type: application/json' -d '{}'
expect_status 409
expect_body 'no attestation nonce outstanding'

# ---- an honest device attests and gets the update -------------------------------------------------
measure d1 fw1.bin
expect_exit 3 agent d1 --attest "tpm:127.0.0.1:$SWTPM_PORT"
[ "$(json_get stdout d.outcome)" = installed ] || fail "honest device: $(cat stdout)"
[ "$(fleet "$ID1" attestation)" = pass ] || fail "attestation not recorded: $(cat body)"
[ "$(status_of "$ID1")" != quarantined ] || fail "honest device quarantined"
ok
# The passing result is in the ledger too, as an attestation record with the evidence digest.
expect_exit 0 "$FWSEAL" log search --dir "$D/ledger" --type attestation --device "$ID1" --json
[ "$(json_get "$TMP/stdout" d.indexes.length)" = 1 ] || fail "no attestation record in the ledger"
idx=$(json_get "$TMP/stdout" d.indexes[0])
for _ in $(seq 1 50); do # the server publishes a checkpoint covering it within a second or so
  "$FWSEAL" log get --dir "$D/ledger" "$idx" >rec.json 2>/dev/null && break
  sleep 0.2
done
[ "$(json_get rec.json d.result)" = pass ] && [ "$(json_get rec.json d.assurance)" = tpm ] ||
  fail "attestation record: $(cat rec.json)"
ok

# ---- a device running an image not in the ledger: quarantined, alert, no update ------------------
measure d3 evil.bin
expect_exit 0 agent d3 --attest "tpm:127.0.0.1:$SWTPM_PORT"
[ "$(json_get stdout d.outcome)" = up-to-date ] || fail "bad image device: $(cat stdout)"
[ "$(status_of "$ID3")" = quarantined ] || fail "device with a bad image not quarantined"
[ "$(reason d3)" = "null|attestation failed: quarantined" ] || fail "reason: $(reason d3)"
srv_curl /api/v1/alerts -H "Authorization: Bearer $admin"
expect_status 200
expect_body "attestation-failed"
expect_body "device $ID3"
expect_exit 0 "$FWSEAL" log search --dir "$D/ledger" --type quarantine --device "$ID3" --json
[ "$(json_get "$TMP/stdout" d.indexes.length)" = 1 ] || fail "no quarantine record in the ledger"

# ---- a software key is refused under "minAssurance": "tpm" --------------------------------------
mkdir -p d4.st
"$FWSEAL" attest measure --software --log d4.st/attest.log --pcr 11 --stage app --file fw1.bin \
  >/dev/null || fail "measure d4"
expect_exit 0 agent d4 --attest software:sw.key
[ "$(json_get stdout d.outcome)" = up-to-date ] || fail "software device: $(cat stdout)"
reason d4 | grep -q '^null|attestation insufficient: assurance software, tpm required$' ||
  fail "reason: $(reason d4)"
[ "$(status_of "$ID4")" != quarantined ] || fail "a software device was quarantined"

# ---- usage --------------------------------------------------------------------------------------
expect_exit 2 agent d1 --attest bogus
expect_stderr "attest"
finish
