#!/usr/bin/env bash
# The dashboard end to end in a real browser: a deployment made with the real commands (init,
# ca init, release add, provision, token create), ledger events through POST /log/add, a
# rollout through the fleet API, alerts from the engine; then Debian's chromium, driven by
# playwright-core (dashboard.mjs), loads every page, checks their content and the proofs the
# pages verify, pauses the rollout and quarantines a device through the UI, checks a phone's
# viewport and runs an accessibility smoke check. Screenshots: $FWS_BUILD_DIR/screenshots.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"
cd "$TMP"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
PW="$FWS_SOURCE_DIR/tests/interop/node_modules/playwright-core"
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing (scripts/setup installs Debian's chromium)"
[ -d "$PW" ] || fail "$PW is missing (scripts/setup installs the Node test tools)"
SHOTS=${FWS_BUILD_DIR:-$TMP}/screenshots
mkdir -p "$SHOTS"

# ---- the deployment ----
srv_deploy
# Rollouts start a second after their release; every spike rule fires from one event; the
# server certificate (397 days) is inside the expiry warning.
cat >"$SRV_DEPLOY/fleet.json" <<'EOF'
{"format": "fwseal-fleet/v1", "releaseQuarantine": "1s"}
EOF
cat >"$SRV_DEPLOY/alerts.json" <<'EOF'
{"format": "fwseal-alerts/v1", "interval": "2s",
 "rules": {"certificateExpiry": {"warn": "400d"},
           "rollbacks": {"window": "1h", "threshold": 1, "factor": 0},
           "verificationFailures": {"window": "1h", "threshold": 1, "factor": 0}}}
EOF
printf 'Faster pairing of new sensors.\n' >notes-1.0.0.txt
cat >notes-1.1.0.txt <<'EOF'
What is new:
- Thermostat schedules survive a power cut.
- The hub's light dims at night.
Security:
- Fixes a buffer overflow in the Zigbee stack (CVE-2026-4242).
- Pairing codes expire after ten minutes.
EOF
head -c 100000 /dev/urandom >fw-1.0.0.bin
head -c 110000 /dev/urandom >fw-1.1.0.bin
head -c 900000 /dev/urandom >fw-2.0.0.bin
"$FWSEAL" release add --dir "$SRV_DEPLOY" fw-1.0.0.bin --product hub --version 1.0.0 \
  --hardware hub-v2 --security-counter 1 --changelog notes-1.0.0.txt >/dev/null || fail "release 1.0.0"
"$FWSEAL" release add --dir "$SRV_DEPLOY" fw-1.1.0.bin --product hub --version 1.1.0 \
  --hardware hub-v2 --security-counter 2 --changelog notes-1.1.0.txt >/dev/null || fail "release 1.1.0"
"$FWSEAL" release add --dir "$SRV_DEPLOY" fw-2.0.0.bin --product hub --version 2.0.0 \
  --hardware hub-v2 --security-counter 2 >/dev/null || fail "release 2.0.0"
D1=$(srv_device d1)
D2=$(srv_device d2)
D3=$(srv_device d3)
"$FWSEAL" token create --dir "$SRV_DEPLOY" --role admin --name alice --json >admin.json 2>/dev/null ||
  fail "token create admin"
"$FWSEAL" token create --dir "$SRV_DEPLOY" --role auditor --name bob --json >auditor.json 2>/dev/null ||
  fail "token create auditor"
ADMIN=$(json_get admin.json d.token)
AUDITOR=$(json_get auditor.json d.token)

srv_start --web "$FWS_SOURCE_DIR/web"
AUTH=(-H "Authorization: Bearer $ADMIN")

# ---- ledger events: what the sequencer writes for device reports ----
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SHA=$(sha256sum fw-1.1.0.bin | cut -d' ' -f1)
post_record() {
  srv_curl /log/add "${AUTH[@]}" -X POST --data-binary "$1"
  expect_status 200
}
post_record "{\"type\":\"install\",\"schema\":1,\"time\":\"$now\",\"device\":\"$D1\",\"product\":\"hub\",\"fromVersion\":\"1.0.0\",\"toVersion\":\"1.1.0\",\"image\":{\"sha256\":\"$SHA\"},\"result\":\"success\"}"
post_record "{\"type\":\"install\",\"schema\":1,\"time\":\"$now\",\"device\":\"$D2\",\"product\":\"hub\",\"fromVersion\":\"1.0.0\",\"toVersion\":\"1.1.0\",\"image\":{\"sha256\":\"$SHA\"},\"result\":\"failure\"}"
post_record "{\"type\":\"rollback\",\"schema\":1,\"time\":\"$now\",\"device\":\"$D3\",\"product\":\"hub\",\"fromVersion\":\"1.0.0\",\"toVersion\":\"1.1.0\",\"reason\":\"health check failed (exit status 3) on version 1.1.0\"}"

# ---- a rollout of 1.1.0 through the fleet API; the controller starts it ----
srv_curl /api/v1/rollouts "${AUTH[@]}" -X POST -H 'Content-Type: application/json' \
  --data '{"release": "hub/1.1.0", "stages": [50, 100]}'
expect_status 201
ROLLOUT=$(json_get body d.id)
for _ in $(seq 1 100); do
  srv_curl "/api/v1/rollouts/$ROLLOUT" "${AUTH[@]}"
  grep -q '"state":"running"' body && break
  sleep 0.1
done
expect_body '"state":"running"'

# The engine raised its alerts (update size, rollback and failure spikes, certificates).
for _ in $(seq 1 100); do
  srv_curl '/api/v1/alerts?state=open' "${AUTH[@]}"
  grep -q 'update-size' body && grep -q 'rollback-spike' body && break
  sleep 0.1
done
expect_body 'update-size'
expect_body 'rollback-spike'

# The proofs the device page verifies also verify offline with fwseal.
# (an event appended a moment ago has its proof once the next checkpoint covers it)
for _ in $(seq 1 100); do
  srv_curl "/api/v1/dashboard/devices/$D1" "${AUTH[@]}"
  node -e "const d=JSON.parse(require('fs').readFileSync('body','utf8'));
    const e=d.history.find(x=>x.type==='install'); process.exit(e && e.entry && e.proof ? 0 : 1)" &&
    break
  sleep 0.1
done
expect_status 200
node -e "const d=JSON.parse(require('fs').readFileSync('body','utf8'));const e=d.history.find(x=>x.type==='install');
require('fs').writeFileSync('entry.json',e.entry);require('fs').writeFileSync('entry.tlog-proof',e.proof)"
srv_curl /api/v1/dashboard/log
VKEY=$(json_get body d.vkey)
echo "$VKEY" >log.vkey
expect_exit 0 "$FWSEAL" log verify-proof --vkey log.vkey --proof entry.tlog-proof entry.json

# ---- the browser ----
export DASH_URL=$SRV_URL DASH_ADMIN=$ADMIN DASH_AUDITOR=$AUDITOR DASH_D1=$D1 DASH_D2=$D2
export DASH_ROLLOUT=$ROLLOUT DASH_SHOTS=$SHOTS DASH_CA="$SRV_DEPLOY/pki/prod/root.crt"
export DASH_CHROMIUM=$CHROMIUM DASH_PW=$PW
node "$FWS_SOURCE_DIR/tests/interop/dashboard.mjs" || fail "dashboard.mjs"
ok

# The server saw the operator's actions: the rollout is paused, the device quarantined with
# a ledger record, and both are in the audit trail under the token's name.
srv_curl "/api/v1/rollouts/$ROLLOUT" "${AUTH[@]}"
expect_body '"state":"paused"'
srv_curl "/api/v1/dashboard/devices/$D2" "${AUTH[@]}"
expect_body '"status":"quarantined"'
expect_body '"type":"quarantine"'
srv_curl /api/v1/audit "${AUTH[@]}"
expect_body '"action":"rollout.change"'
expect_body '"action":"device.quarantine"'
expect_body '"action":"alert.ack"'
srv_stop || fail "fwseal serve did not stop cleanly"
ls "$SHOTS"/*.png >/dev/null || fail "no screenshots in $SHOTS"
finish
