#!/usr/bin/env bash
# Alerts end to end: DEPLOY/alerts.json checked at start, rules raising alerts in a running
# `fwseal serve` (an update far from the product's usual size, a tampered ledger seen by the
# monitor), alerts raised through the API by a monitor elsewhere, delivery to a webhook (a
# small node HTTP receiver on loopback that refuses its first request, so delivery retries)
# and to a command (alert JSON on stdin), the fwseal_alerts_active gauges, acknowledgement,
# roles.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"
cd "$TMP"

# ---- the webhook receiver: appends each body as a line to hooks.log; answers 500 first ----
cat >receiver.mjs <<'EOF'
import http from 'node:http';
import fs from 'node:fs';
let n = 0;
const srv = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    n++;
    if (n === 1) { res.writeHead(500); res.end('not yet'); return; }
    fs.appendFileSync('hooks.log', JSON.stringify({ auth: req.headers.authorization || '',
      type: req.headers['content-type'], method: req.method, body: JSON.parse(body) }) + '\n');
    res.writeHead(204);
    res.end();
  });
});
srv.listen(0, '127.0.0.1', () => fs.writeFileSync('hook.port', String(srv.address().port)));
setTimeout(() => process.exit(0), 55000).unref();
process.on('SIGTERM', () => process.exit(0));
EOF
node receiver.mjs &
HOOK_PID=$!
trap 'kill $HOOK_PID 2>/dev/null || true; _srv_cleanup' EXIT
for _ in $(seq 1 100); do [ -s hook.port ] && break; sleep 0.05; done
HOOK_PORT=$(cat hook.port)

cat >deliver.sh <<EOF
#!/bin/sh
cat >>"$TMP/command.log"
EOF
chmod +x deliver.sh

srv_deploy
head -c 100000 /dev/urandom >fw1.bin
head -c 120000 /dev/urandom >fw2.bin
head -c 800000 /dev/urandom >fw3.bin
"$FWSEAL" release add --dir "$SRV_DEPLOY" fw1.bin --product hub --version 1.0.0 --hardware hub-v2 \
  --security-counter 1 >/dev/null || fail "release 1.0.0"
"$FWSEAL" release add --dir "$SRV_DEPLOY" fw2.bin --product hub --version 1.1.0 --hardware hub-v2 \
  --security-counter 1 >/dev/null || fail "release 1.1.0"

# ---- configuration errors stop the server at start, naming the file and the field ----
echo '{"format": "fwseal-alerts/v1", "interval": "soon"}' >"$SRV_DEPLOY/alerts.json"
expect_exit 2 "$FWSEAL" serve --dir "$SRV_DEPLOY" --check-config
expect_stderr 'alerts.json.*interval'
echo '{"format": "fwseal-alerts/v1", "command": ["relative/path"]}' >"$SRV_DEPLOY/alerts.json"
expect_exit 2 "$FWSEAL" serve --dir "$SRV_DEPLOY" --check-config
expect_stderr 'absolute path'
echo '{"format": "fwseal-alerts/v1", "rules": {"rollbacks": {"treshold": 2}}}' >"$SRV_DEPLOY/alerts.json"
expect_exit 2 "$FWSEAL" serve --dir "$SRV_DEPLOY" --check-config
expect_stderr 'rules.rollbacks.*treshold'

cat >"$SRV_DEPLOY/alerts.json" <<EOF
{"format": "fwseal-alerts/v1", "interval": "1s", "timeout": "5s",
 "webhook": {"url": "http://127.0.0.1:$HOOK_PORT/hook", "authorization": "Bearer hook-secret"},
 "command": ["$TMP/deliver.sh"],
 "rules": {"certificateExpiry": {"enabled": false}}}
EOF
expect_exit 0 "$FWSEAL" serve --dir "$SRV_DEPLOY" --check-config

"$FWSEAL" token create --dir "$SRV_DEPLOY" --role admin --name alice --json >admin.json 2>/dev/null
"$FWSEAL" token create --dir "$SRV_DEPLOY" --role auditor --name monitor --json >auditor.json 2>/dev/null
"$FWSEAL" token create --dir "$SRV_DEPLOY" --role release --name rel --json >release.json 2>/dev/null
ADMIN=(-H "Authorization: Bearer $(json_get admin.json d.token)")
AUDITOR=(-H "Authorization: Bearer $(json_get auditor.json d.token)")
RELEASE=(-H "Authorization: Bearer $(json_get release.json d.token)")

srv_start

# wait_for CMD...: retries CMD for up to 15 s.
wait_for() {
  local i
  for i in $(seq 1 150); do "$@" && return 0; sleep 0.1; done
  return 1
}
metric() { srv_curl /metrics; grep -E "^$1 " "$TMP/body" | awk '{print $2}'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
monitor_ready() { [ -n "$(ls "$SRV_DEPLOY/alerts/monitor" 2>/dev/null)" ]; }

# The monitor saw the ledger once and kept its checkpoint.
wait_for monitor_ready || fail "no monitor state"
ok
# Nothing is wrong yet.
srv_curl '/api/v1/alerts?state=open' "${ADMIN[@]}"
expect_body '"alerts":\[\]'

# ---- an update far from the product's usual size ----
"$FWSEAL" release add --dir "$SRV_DEPLOY" fw3.bin --product hub --version 2.0.0 --hardware hub-v2 \
  --security-counter 1 >/dev/null || fail "release 2.0.0"
hook_has() { grep -q "$1" hooks.log 2>/dev/null; }
wait_for hook_has '"kind":"update-size"' || { cat "$SRV_LOG" >&2; fail "no update-size webhook"; }
ok
node -e "
const l=require('fs').readFileSync('hooks.log','utf8').trim().split('\n').map(JSON.parse);
const h=l.find(x=>x.body.kind==='update-size');
const ok=h.method==='POST'&&h.type==='application/json'&&h.auth==='Bearer hook-secret'&&
  h.body.format==='fwseal-alert/v1'&&h.body.subject==='release hub/2.0.0'&&
  /800000 bytes, over 3 times the median/.test(h.body.message)&&/Z\$/.test(h.body.time);
if(!ok){console.error(JSON.stringify(h));process.exit(1)}" || fail "webhook body"
ok
# The receiver refused the first attempt: delivery was retried, and counted.
[ "$(metric 'fwseal_alert_deliveries_total\{result="failed"\}')" -ge 1 ] || fail "failed delivery not counted"
ok
wait_for grep -q '"kind":"update-size"' command.log || fail "command not run"
ok
wait_for metric_is 'fwseal_alerts_active\{kind="update-size"\}' 1 || fail "active gauge"
ok

# ---- a monitor elsewhere reports a fork through the API ----
srv_curl /api/v1/alerts "${RELEASE[@]}" -X POST -H 'Content-Type: application/json' \
  --data '{"kind": "log-fork", "subject": "ledger example.com/hub", "message": "x"}'
expect_status 403
srv_curl /api/v1/alerts "${AUDITOR[@]}" -X POST -H 'Content-Type: application/json' \
  --data '{"kind": "Log Fork!", "subject": "s", "message": "m"}'
expect_status 400
srv_curl /api/v1/alerts "${AUDITOR[@]}" -X POST -H 'Content-Type: application/json' \
  --data '{"kind": "log-fork", "subject": "ledger example.com/hub (witness w1)", "message": "witness w1 saw another root at size 5"}'
expect_status 201
FORK=$(json_get body d.id)
wait_for hook_has 'witness w1 saw another root' || fail "raised alert not delivered"
ok
wait_for metric_is 'fwseal_alerts_active\{kind="log-fork"\}' 1 || fail "log-fork gauge"
ok

# ---- acknowledging: operators only; the gauge goes down ----
srv_curl "/api/v1/alerts/$FORK/ack" "${AUDITOR[@]}" -X POST
expect_status 403
srv_curl "/api/v1/alerts/$FORK/ack" "${ADMIN[@]}" -X POST
expect_status 200
expect_body '"acknowledged":true'
srv_curl "/api/v1/alerts/999999/ack" "${ADMIN[@]}" -X POST
expect_status 404
wait_for metric_is 'fwseal_alerts_active\{kind="log-fork"\}' 0 || fail "gauge after ack"
ok
srv_curl '/api/v1/alerts?state=open' "${AUDITOR[@]}"
expect_body '"kind":"update-size"'
grep -q '"log-fork"' body && fail "an acknowledged alert is still open"
srv_curl '/api/v1/alerts?state=maybe' "${ADMIN[@]}"
expect_status 400
srv_curl /api/v1/alerts/config "${AUDITOR[@]}"
expect_body '"webhook":true'
grep -q hook-secret body && fail "the webhook's credentials leak through the config"
srv_curl /api/v1/audit "${ADMIN[@]}"
expect_body '"action":"alert.ack"'
expect_body '"action":"alert.raise"'

# ---- a tampered ledger: the server's own monitor raises log-fork ----
srv_stop || fail "serve did not stop"
# An alert the stopped server had raised but not delivered yet: sent after the restart, once.
sqlite3 "$SRV_DEPLOY/fwseal.sqlite" "INSERT INTO alerts (kind, subject, message, raised_at,
  acked_at, acked_by, delivered_at) VALUES ('rollout-cancelled', 'rollout 99',
  'raised just before a restart', CAST(strftime('%s', 'now') AS INTEGER), 0, 0, 0)" ||
  fail "cannot plant an undelivered alert"
head -c 130000 /dev/urandom >fw4.bin
"$FWSEAL" release add --dir "$SRV_DEPLOY" fw4.bin --product hub --version 2.1.0 --hardware hub-v2 \
  --security-counter 1 >/dev/null || fail "release 2.1.0"
# Rewrite the new entry's bytes in its bundle (same length): the tiles no longer match them.
node -e "
const fs=require('fs'),p=require('path');
const dir=process.argv[1]+'/ledger/tile/entries';
const files=[];(function walk(d){for(const f of fs.readdirSync(d)){const q=p.join(d,f);
  fs.statSync(q).isDirectory()?walk(q):files.push(q)}})(dir);
let done=0;for(const f of files){const b=fs.readFileSync(f,'latin1');
  if(b.includes('\"version\":\"2.1.0\"')){fs.writeFileSync(f,b.replace('\"version\":\"2.1.0\"','\"version\":\"2.1.9\"'),'latin1');done++}}
if(!done)process.exit(1)" "$SRV_DEPLOY" || fail "cannot tamper with the bundle"
srv_start
wait_for hook_has 'the log monitor refused' || { cat "$SRV_LOG" >&2; fail "no log-fork alert from the monitor"; }
ok
wait_for hook_has 'raised just before a restart' || fail "an undelivered alert was lost in the restart"
ok
[ "$(grep -c 'raised just before a restart' hooks.log)" = 1 ] || fail "an alert was delivered twice"
[ "$(grep -c 'witness w1 saw another root' hooks.log)" = 1 ] ||
  fail "an alert delivered before the restart was delivered again"
ok
srv_curl '/api/v1/alerts?state=open' "${ADMIN[@]}"
expect_body '"kind":"log-fork"'
expect_body '"subject":"ledger example.com/hub"'
srv_stop || fail "serve did not stop"
finish
