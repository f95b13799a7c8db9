#!/bin/bash
# The fleet end to end on one `fwseal serve` (SQLite): signed assignments with nonce and
# sequence, staged rollouts (quarantine period, stages advancing on success, automatic pause on
# failures, resume, cancel), device quarantine with a recovery release, reports refused with
# precise errors, reports sequenced into the ledger, roles and the audit trail. The device side
# is tests/cli/fleet_client.mjs (Node's TLS and crypto).
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"

CLIENT="$FWS_SOURCE_DIR/tests/cli/fleet_client.mjs"
CA=$SRV_DEPLOY/pki/prod/root.crt

srv_deploy
for n in 1 2 3 4; do
  srv_device "d$n" >"$TMP/d$n.id"
done
ID1=$(cat "$TMP/d1.id") ID2=$(cat "$TMP/d2.id") ID3=$(cat "$TMP/d3.id") ID4=$(cat "$TMP/d4.id")
cat >"$SRV_DEPLOY/fleet.json" <<EOF
{"format": "fwseal-fleet/v1", "releaseQuarantine": "1h", "recovery": ["hub/1.0.1"]}
EOF
release() { # VERSION: a release of hub for hub-v2; prints the image's SHA-256
  mkdir -p "$TMP/img-$1"
  head -c 4096 /dev/urandom >"$TMP/img-$1/fw.bin"
  "$FWSEAL" release add --dir "$SRV_DEPLOY" "$TMP/img-$1/fw.bin" --product hub --version "$1" \
    --hardware hub-v2 --security-counter 1 >/dev/null || fail "release add $1"
  sha256sum "$TMP/img-$1/fw.bin" | cut -d' ' -f1
}
SHA11=$(release 1.1.0)
srv_start
APUB=$SRV_DEPLOY/keys/assignment.pub
[ -s "$APUB" ] || fail "the server did not make keys/assignment.pub"
ok

admin=$("$FWSEAL" token create --dir "$SRV_DEPLOY" --role admin --name ops --json | json_get /dev/stdin d.token)
auditor=$("$FWSEAL" token create --dir "$SRV_DEPLOY" --role auditor --json | json_get /dev/stdin d.token)

# assign NAME: the device's verified assignment payload into $TMP/assign.json
assign() {
  local id
  id=$(cat "$TMP/$1.id")
  node "$CLIENT" assign "$SRV_URL" "$CA" "$TMP/$1/device.crt" "$TMP/$1.key" "$APUB" "$id" \
    >"$TMP/assign.json" || fail "fleet_client assign $1"
  [ "$(json_get "$TMP/assign.json" d.status)" = 200 ] || { cat "$TMP/assign.json" >&2; fail "assignment for $1"; }
  [ "$(json_get "$TMP/assign.json" 'd.error||""')" = "" ] || { cat "$TMP/assign.json" >&2; fail "assignment check for $1"; }
}
target_of() {
  node "$CLIENT" target "$SRV_URL" "$CA" "$TMP/$1/device.crt" "$TMP/$1.key" "$APUB" \
    "$(cat "$TMP/$1.id")" || fail "assignment for $1"
}
# report NAME TYPE TARGET SHA [SIGNER] [SEQ]: posts a signed report; status into $TMP/rstatus
report() {
  local signer=${5:-$1}
  node "$CLIENT" send "$SRV_URL" "$CA" "$TMP/$1/device.crt" "$TMP/$1.key" "$TMP/$signer.key" \
    "$(cat "$TMP/$1.id")" "$2" "$3" "$4" "${6:-1}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$TMP/report.json"
  sed -E 's/^\{"status":([0-9]+).*/\1/' "$TMP/report.json" >"$TMP/rstatus"
}
# wait_state ID STATE: polls the rollout until it is in STATE (the controller runs every second)
wait_state() {
  local i
  for i in $(seq 1 400); do
    "$FWSEAL" rollout show --dir "$SRV_DEPLOY" "$1" --json >"$TMP/rollout.json" 2>/dev/null || true
    [ "$(json_get "$TMP/rollout.json" d.state 2>/dev/null)" = "$2" ] && { ok; return 0; }
    sleep 0.2
  done
  cat "$TMP/rollout.json" >&2
  fail "rollout $1 never reached $2"
}

# ---- assignments: signed, nonce echoed, sequence rising, nothing to install yet ----
assign d1
s1=$(json_get "$TMP/assign.json" d.payload.sequence)
[ "$(json_get "$TMP/assign.json" d.payload.target)" = null ] || fail "target before any rollout"
assign d1
s2=$(json_get "$TMP/assign.json" d.payload.sequence)
[ "$s2" -gt "$s1" ] || fail "sequence did not rise: $s1 then $s2"
ok
srv_dcurl d1 "/api/v1/device/assignment"
expect_status 400
expect_body 'nonce is required'
srv_dcurl d1 "/api/v1/device/assignment?nonce=XYZ"
expect_status 400
srv_curl "/api/v1/device/assignment?nonce=00112233445566778899aabbccddeeff"
expect_status 401

# ---- the quarantine period holds a rollout back; roles; cancel ----
expect_exit 0 "$FWSEAL" rollout create --dir "$SRV_DEPLOY" --release hub/1.1.0 --stages 50,100 --json
[ "$(json_get "$TMP/stdout" d.state)" = pending ] || fail "new rollout not pending"
R1=$(json_get "$TMP/stdout" d.id)
sleep 1.5 # a controller pass at least: still pending (the release waits one hour)
"$FWSEAL" rollout show --dir "$SRV_DEPLOY" "$R1" --json >"$TMP/rollout.json"
[ "$(json_get "$TMP/rollout.json" d.state)" = pending ] || fail "rollout started inside the quarantine period"
[ "$(target_of d1)" = stay ] || fail "release offered inside its quarantine period"
ok
srv_curl "/api/v1/rollouts/$R1/cancel" -X POST -H "Authorization: Bearer $auditor"
expect_status 403
expect_body 'role \\"auditor\\" may not POST'
srv_curl "/api/v1/rollouts/$R1/cancel" -X POST -H "Authorization: Bearer $admin"
expect_status 200
expect_body '"state":"cancelled"'
srv_curl "/api/v1/rollouts/$R1/resume" -X POST -H "Authorization: Bearer $admin"
expect_status 409
expect_body 'is cancelled: cannot resume'
srv_curl "/api/v1/rollouts" -X POST -H "Authorization: Bearer $admin" -d '{"release":"hub/9.9.9","stages":[100]}'
expect_status 404
expect_body 'release hub/9.9.9 does not exist'
srv_curl "/api/v1/rollouts" -X POST -H "Authorization: Bearer $admin" -d '{"release":"hub/1.1.0","stages":[50,20]}'
expect_status 400
expect_body 'rise strictly'
srv_curl "/api/v1/rollouts" -X POST -H "Authorization: Bearer $admin" -d '{"release":'
expect_status 400
expect_body 'not valid JSON'

# ---- a staged rollout: stage 1 devices first, advance on success, complete ----
expect_exit 0 "$FWSEAL" rollout create --dir "$SRV_DEPLOY" --release hub/1.1.0 --stages 50,100 \
  --quarantine 0s --success-threshold 100 --failure-threshold 50 --json
R2=$(json_get "$TMP/stdout" d.id)
wait_state "$R2" running
# Stages are drawn by a hash of the rollout and device IDs: with four devices, stage 1 is empty
# one time in sixteen, and the controller then moves straight on to stage 2.
if [ "$(json_get "$TMP/rollout.json" d.stages[0].devices)" = 0 ]; then
  for i in $(seq 1 150); do
    "$FWSEAL" rollout show --dir "$SRV_DEPLOY" "$R2" --json >"$TMP/rollout.json"
    [ "$(json_get "$TMP/rollout.json" d.currentStage)" = 2 ] && break
    sleep 0.2
  done
fi
first=() rest=()
for n in 1 2 3 4; do
  if [ "$(target_of d$n)" = hub/1.1.0/fw.bin ]; then first+=("d$n"); else rest+=("d$n"); fi
done
# the devices of the stages reached so far
offered=$(json_get "$TMP/rollout.json" 'd.stages.slice(0, d.currentStage).reduce((a, s) => a + s.devices, 0)')
[ "${#first[@]}" = "$offered" ] || fail "stages so far have $offered devices but ${#first[@]} were offered the release"
ok
for d in "${first[@]}"; do
  report "$d" install hub/1.1.0/fw.bin "$SHA11"
  [ "$(cat "$TMP/rstatus")" = 201 ] || { cat "$TMP/report.json" >&2; fail "install report of $d"; }
done
ok
for i in $(seq 1 150); do # the controller advances to stage 2
  "$FWSEAL" rollout show --dir "$SRV_DEPLOY" "$R2" --json >"$TMP/rollout.json"
  [ "$(json_get "$TMP/rollout.json" d.currentStage)" = 2 ] && break
  sleep 0.2
done
[ "$(json_get "$TMP/rollout.json" d.currentStage)" = 2 ] || { cat "$TMP/rollout.json" >&2; fail "no advance to stage 2"; }
ok
for d in "${rest[@]}"; do
  [ "$(target_of "$d")" = hub/1.1.0/fw.bin ] || fail "$d not offered the release in stage 2"
  report "$d" install hub/1.1.0/fw.bin "$SHA11"
  [ "$(cat "$TMP/rstatus")" = 201 ] || fail "install report of $d"
done
wait_state "$R2" completed
[ "$(target_of d1)" = stay ] || fail "an updated device is offered the release again"
# the same envelope again (a lost acknowledgement) is acknowledged as a duplicate
FLEET_ENVELOPE_OUT=$TMP/env.json report d1 verification-failure hub/1.1.0/fw.bin "$SHA11" d1 7
[ "$(cat "$TMP/rstatus")" = 201 ] || { cat "$TMP/report.json" >&2; fail "verification-failure report"; }
node "$CLIENT" raw "$SRV_URL" "$CA" "$TMP/d1/device.crt" "$TMP/d1.key" "$TMP/env.json" >"$TMP/report.json"
[ "$(json_get "$TMP/report.json" d.status)" = 200 ] && grep -q '\\"duplicate\\":true' "$TMP/report.json" ||
  { cat "$TMP/report.json" >&2; fail "a repeated report is not a duplicate"; }
ok

# ---- refused reports ----
report d1 install hub/1.1.0/fw.bin "$SHA11" d2 2
[ "$(cat "$TMP/rstatus")" = 403 ] || { cat "$TMP/report.json" >&2; fail "report signed by another device"; }
grep -q 'not signed by device' "$TMP/report.json" || fail "wrong signer message"
ok
node "$CLIENT" payload "$ID2" install hub/1.1.0/fw.bin "$SHA11" 3 >"$TMP/p.json"
node "$CLIENT" report "$SRV_URL" "$CA" "$TMP/d1/device.crt" "$TMP/d1.key" "$TMP/d1.key" "$(cat "$TMP/p.json")" >"$TMP/report.json"
[ "$(json_get "$TMP/report.json" d.status)" = 403 ] && grep -q "about device $ID2" "$TMP/report.json" ||
  { cat "$TMP/report.json" >&2; fail "report about another device"; }
ok
report d1 install hub/9.9.9/fw.bin "$SHA11" d1 4
[ "$(cat "$TMP/rstatus")" = 422 ] && grep -q 'hub/9.9.9/fw.bin, which does not exist' "$TMP/report.json" ||
  { cat "$TMP/report.json" >&2; fail "report for an unknown release"; }
ok
printf '{"payload": "e30=", "payloadType":' >"$TMP/bad.json"
node "$CLIENT" raw "$SRV_URL" "$CA" "$TMP/d1/device.crt" "$TMP/d1.key" "$TMP/bad.json" >"$TMP/report.json"
[ "$(json_get "$TMP/report.json" d.status)" = 400 ] && grep -q 'bad_report' "$TMP/report.json" ||
  { cat "$TMP/report.json" >&2; fail "malformed report"; }
ok

# ---- failures pause a rollout by themselves; resume; the ledger ----
SHA12=$(release 1.2.0)
expect_exit 0 "$FWSEAL" rollout create --dir "$SRV_DEPLOY" --release hub/1.2.0 --stages 100 \
  --quarantine 0s --failure-threshold 20 --json
R3=$(json_get "$TMP/stdout" d.id)
wait_state "$R3" running
[ "$(target_of d1)" = hub/1.2.0/fw.bin ] || fail "d1 not offered 1.2.0"
report d1 rollback hub/1.2.0/fw.bin "$SHA12" d1 5
[ "$(cat "$TMP/rstatus")" = 201 ] || fail "rollback report"
wait_state "$R3" paused
[ "$(target_of d2)" = stay ] || fail "a paused rollout still offers its release"
srv_curl "/api/v1/devices/$ID1" -H "Authorization: Bearer $auditor"
expect_status 200
expect_body '"outcome":"failed"'
expect_exit 0 "$FWSEAL" rollout resume --dir "$SRV_DEPLOY" "$R3"
[ "$(target_of d2)" = hub/1.2.0/fw.bin ] || fail "a resumed rollout does not offer its release"
ok

# every acknowledged report reaches the ledger
for i in $(seq 1 150); do
  n=$("$FWSEAL" log search --dir "$SRV_DEPLOY/ledger" --type install --json | json_get /dev/stdin 'd.indexes?d.indexes.length:d.length')
  [ "$n" -ge 5 ] && break
  sleep 0.2
done
[ "$n" -ge 5 ] || fail "install records in the ledger: $n, want 5 (4 installs, 1 verification failure)"
"$FWSEAL" log search --dir "$SRV_DEPLOY/ledger" --type rollback --device "$ID1" --json >"$TMP/rb.json"
[ "$(json_get "$TMP/rb.json" 'd.indexes?d.indexes.length:d.length')" = 1 ] || fail "rollback record"
ok

# ---- quarantine: only the recovery release; release ----
expect_exit 0 "$FWSEAL" device quarantine --dir "$SRV_DEPLOY" "$ID3" --reason "tamper alarm" --json
[ "$(json_get "$TMP/stdout" d.status)" = quarantined ] || fail "device quarantine"
"$FWSEAL" log search --dir "$SRV_DEPLOY/ledger" --type quarantine --device "$ID3" --json >"$TMP/q.json"
[ "$(json_get "$TMP/q.json" 'd.indexes?d.indexes.length:d.length')" = 1 ] || fail "quarantine record"
[ "$(target_of d3)" = stay ] || fail "a quarantined device is offered a release"
SHA101=$(release 1.0.1)
[ "$(target_of d3)" = hub/1.0.1/fw.bin ] || fail "a quarantined device is not offered the recovery release"
expect_exit 2 "$FWSEAL" device quarantine --dir "$SRV_DEPLOY" 0123456789abcdef0123456789abcdef --no-ledger
expect_stderr 'no device with ID'
srv_curl "/api/v1/devices/$ID3/release" -X POST -H "Authorization: Bearer $admin" -d '{"reason":"checked"}'
expect_status 200
expect_body '"status":"active"'
srv_curl "/api/v1/devices/$ID4/quarantine" -X POST -H "Authorization: Bearer $auditor"
expect_status 403

# ---- the audit trail names every operator action ----
srv_curl "/api/v1/audit" -H "Authorization: Bearer $admin"
expect_status 200
for a in rollout.create rollout.resume rollout.change device.quarantine; do
  grep -q "\"$a\"" "$TMP/body" || { cat "$TMP/body" >&2; fail "audit trail lacks $a"; }
done
ok
srv_stop || fail "fwseal serve exit status"

# ---- a device over its report rate gets 429 ----
srv_start --device-rate 0.01 --device-burst 2
for i in 1 2 3; do report d4 install hub/1.1.0/fw.bin "$SHA11" d4 "$((10 + i))"; done
[ "$(cat "$TMP/rstatus")" = 429 ] || { cat "$TMP/report.json" >&2; fail "no 429 past the device's burst"; }
ok
srv_stop || fail "fwseal serve exit status"
finish
