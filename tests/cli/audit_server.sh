#!/usr/bin/env bash
# fwseal audit --server: a running `fwseal serve` (real HTTPS on loopback) with devices, a
# release and install reports signed by the devices' keys is audited completely by an auditor
# holding only a token (GET /api/v1/audit/snapshot, restored and audited in a private temporary
# directory): clean with the devices and verified reports counted; the release token, a factory
# token and a bogus token are refused; a forged report planted in the store is found; a too
# small --max-snapshot, the wrong CA, a corrupted and a truncated snapshot fail cleanly; nothing
# is left in $TMPDIR; the audit trail records every snapshot; a PostgreSQL-backed server
# answers 501.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"

CLIENT="$FWS_SOURCE_DIR/tests/cli/fleet_client.mjs"
CA=$SRV_DEPLOY/pki/prod/root.crt
AT=$TMP/auditor-tmp # the auditor's $TMPDIR: must be empty after every remote audit
mkdir -p "$AT"
cd "$TMP"

# remote_audit EXIT [OPTIONS...]: fwseal audit --server with the auditor's $TMPDIR, which must
# be empty afterwards whatever happened.
remote_audit() {
  local want=$1
  shift
  expect_exit "$want" env TMPDIR="$AT" "$FWSEAL" audit --server "$SRV_URL" "$@"
  [ -z "$(ls -A "$AT")" ] || { ls -la "$AT" >&2; fail "left behind in \$TMPDIR: $*"; }
  ok
}
token() { # ROLE: a new token of that role, into the file ROLE.tok
  "$FWSEAL" token create --dir "$SRV_DEPLOY" --role "$1" --name "$1-$RANDOM" --json "${@:2}" |
    json_get /dev/stdin d.token >"$1.tok" || fail "token create $1"
}
report() { # NAME SIGNER SEQ: an install report of hub/1.1.0 about NAME signed by SIGNER's key
  node "$CLIENT" send "$SRV_URL" "$CA" "$TMP/$1/device.crt" "$TMP/$1.key" "$TMP/$2.key" \
    "$(cat "$TMP/$1.id")" install hub/1.1.0/fw.bin "$SHA11" "$3" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    >report.json
  sed -E 's/^\{"status":([0-9]+).*/\1/' report.json >rstatus
}

# ---- a deployment with two devices and a release with its SBOM ----
srv_deploy
srv_device d1 >d1.id
srv_device d2 >d2.id
ID1=$(cat d1.id)
cat >sbom.json <<'EOF'
{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
 "serialNumber": "urn:uuid:5b8e36a0-51a4-4d0c-9e4e-1d27c0d3e5a1",
 "components": [{"type": "firmware", "name": "hub", "version": "1.1.0"}]}
EOF
head -c 4096 /dev/urandom >fw.bin
expect_exit 0 "$FWSEAL" release add --dir "$SRV_DEPLOY" fw.bin --product hub --version 1.1.0 \
  --hardware hub-v2 --security-counter 1 --sbom sbom.json
SHA11=$(sha256sum fw.bin | cut -d' ' -f1)
json_get "$SRV_DEPLOY/ledger/log.json" d.vkey >vkey
srv_start
token auditor
token release
token factory
token admin
for d in d1 d2; do
  report "$d" "$d" 1
  [ "$(cat rstatus)" = 201 ] || { cat report.json >&2; fail "install report of $d"; }
done
for i in $(seq 1 150); do # the server sequences the reports into the ledger
  n=$("$FWSEAL" log search --dir "$SRV_DEPLOY/ledger" --type install --json |
    json_get /dev/stdin 'd.indexes?d.indexes.length:d.length')
  [ "$n" -ge 2 ] && break
  sleep 0.2
done
[ "$n" -ge 2 ] || fail "install records in the ledger: $n, want 2"
ok

# ---- usage ----
expect_exit 0 "$FWSEAL" audit --help
grep -q -- "--server URL --token-file FILE" stdout || fail "usage names --server"
expect_exit 2 "$FWSEAL" audit --server "$SRV_URL"
expect_stderr "--server needs --token-file FILE"
expect_exit 2 "$FWSEAL" audit --server "$SRV_URL" --token-file auditor.tok --dir "$SRV_DEPLOY"
expect_stderr "no --dir, --store or --url with it"
expect_exit 2 "$FWSEAL" audit --dir "$SRV_DEPLOY" --token-file auditor.tok
expect_stderr "go with --server"
remote_audit 2 --token-file auditor.tok --cacert "$CA" --max-snapshot 0
expect_stderr "a number of bytes above 0"
expect_exit 2 env TMPDIR="$AT" "$FWSEAL" audit --server "http://localhost:$SRV_PORT" \
  --token-file auditor.tok
expect_stderr "must be an https:// URL"

# ---- a clean server, audited with the auditor's token alone ----
remote_audit 0 --token-file auditor.tok --cacert "$CA" --vkey vkey --state state --json
cp stdout clean.json
[ "$(json_get clean.json d.clean)" = true ] || { cat clean.json >&2; fail "the server is not clean"; }
[ "$(json_get clean.json d.summary.red)" = 0 ] || fail "red flags on a clean server"
[ "$(json_get clean.json d.deployment)" = "$SRV_URL" ] || fail "the report does not name the server"
grep -q "fwseal-remote-audit" clean.json && fail "the report names the temporary directory"
[ "$(json_get clean.json d.statistics.devices)" = 2 ] || fail "devices: $(json_get clean.json d.statistics)"
[ "$(json_get clean.json d.statistics.certificates)" = 2 ] || fail "certificates"
[ "$(json_get clean.json d.statistics.releases)" = 1 ] || fail "releases"
[ "$(json_get clean.json d.statistics.reports)" = 2 ] || fail "reports"
[ "$(json_get clean.json d.statistics.reportsVerified)" = 2 ] || fail "verified reports"
[ "$(json_get clean.json "d.statistics.firmware['hub/1.1.0']")" = 2 ] || fail "firmware per release"
for p in ledger releases pki fleet; do
  [ "$(json_get clean.json "typeof d.phases.$p")" = number ] || fail "phase $p did not run"
done
ls state | grep -q . || fail "--state kept nothing"
ok
# the text report, with the system's CAs refused (the deployment's root is not among them)
remote_audit 0 --token-file auditor.tok --cacert "$CA" --vkey vkey
grep -q "^audit of $SRV_URL " stdout || fail "text report: $(head -1 stdout)"
# an admin token may take a snapshot too
remote_audit 0 --token-file admin.tok --cacert "$CA" --vkey vkey

# ---- tokens the server refuses: one clear line, exit 2 ----
remote_audit 2 --token-file release.tok --cacert "$CA" --vkey vkey
expect_stderr '^fwseal audit --server: the server refused the token: token role "release" may not GET /api/v1/audit/snapshot \(roles allowed: admin, auditor\)$'
[ "$(wc -l <"$TMP/stderr")" = 1 ] || fail "more than one line on stderr"
echo "fwst_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >bogus.tok
remote_audit 2 --token-file bogus.tok --cacert "$CA" --vkey vkey
expect_stderr "^fwseal audit --server: the server refused the token: unknown operator token$"
echo "not a token" >bad.tok
remote_audit 2 --token-file bad.tok --cacert "$CA"
expect_stderr "no token on its first line|space or a control character"
"$FWSEAL" token revoke --dir "$SRV_DEPLOY" "$("$FWSEAL" token list --dir "$SRV_DEPLOY" --json |
  json_get /dev/stdin "(d.tokens||d).find(t => t.role == 'admin').id")" >/dev/null ||
  fail "token revoke"
remote_audit 2 --token-file admin.tok --cacert "$CA"
expect_stderr "the server refused the token: operator token revoked"
srv_curl /api/v1/audit/snapshot -H "Authorization: Bearer $(cat factory.tok)"
expect_status 403
expect_body 'token role \\"factory\\" may not GET /api/v1/audit/snapshot'
srv_curl /api/v1/audit/snapshot
expect_status 401

# ---- caps and transport ----
remote_audit 2 --token-file auditor.tok --cacert "$CA" --max-snapshot 4096
expect_stderr "over the cap of 4096 bytes"
remote_audit 2 --token-file auditor.tok --cacert "$SRV_DEPLOY/pki/dev/root.crt"
expect_stderr "certificate verify failed"

# ---- what the snapshot holds: no keys, no webhook credentials ----
cat >"$SRV_DEPLOY/alerts.json" <<'EOF'
{"format": "fwseal-alerts/v1",
 "webhook": {"url": "https://hooks.example.com/x", "authorization": "Bearer webhook-secret-1"}}
EOF
srv_curl /api/v1/audit/snapshot -H "Authorization: Bearer $(cat auditor.tok)" -D headers
expect_status 200
grep -qi '^content-type: application/x-tar' headers || fail "snapshot content type"
grep -qi '^content-length: [1-9]' headers || fail "snapshot content length"
cp body snapshot.tar
tar tf snapshot.tar >members || fail "GNU tar cannot read the snapshot"
grep -q '^store/fwseal.sqlite$' members && grep -q '^deploy/pki/inventory.sqlite$' members &&
  grep -q '^deploy/ledger/checkpoint$' members && [ "$(tail -1 members)" = BACKUP.json ] ||
  { cat members >&2; fail "snapshot members"; }
grep -Eq '\.key$|^deploy/keys/.*\.pem$' members && { cat members >&2; fail "keys in the snapshot"; }
grep -q 'alerts.json' members && fail "alerts.json in the snapshot"
grep -aq 'PRIVATE KEY-----\|webhook-secret-1' snapshot.tar && fail "a secret in the snapshot"
rm "$SRV_DEPLOY/alerts.json"
ok

# ---- a corrupted or truncated snapshot, served by a peer with the server's certificate ----
serve_file() { # FILE: a node HTTPS server answering FILE as a snapshot; sets PEER_URL, PEER_PID
  rm -f peer.port
  node -e '
    const fs = require("fs"), https = require("https");
    const [cert, key, file, portFile] = process.argv.slice(1);
    const body = fs.readFileSync(file);
    const s = https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)},
      (req, res) => { res.writeHead(200, {"content-type": "application/x-tar",
                                          "content-length": body.length}); res.end(body); });
    s.listen(0, "127.0.0.1", () => fs.writeFileSync(portFile, String(s.address().port)));
  ' "$SRV_DEPLOY/server/server.crt" "$SRV_DEPLOY/server/server.key" "$1" peer.port &
  PEER_PID=$!
  for i in $(seq 1 100); do [ -s peer.port ] && break; sleep 0.1; done
  [ -s peer.port ] || fail "the node peer did not start"
  PEER_URL=https://localhost:$(cat peer.port)
}
size=$(stat -c %s snapshot.tar)
cp snapshot.tar bad.tar
flip_bit bad.tar $(((size / 2) * 8 + 3))
serve_file bad.tar
expect_exit 2 env TMPDIR="$AT" "$FWSEAL" audit --server "$PEER_URL" --token-file auditor.tok --cacert "$CA"
expect_stderr "the snapshot from $PEER_URL does not restore"
[ -z "$(ls -A "$AT")" ] || fail "a corrupted snapshot left files behind"
kill "$PEER_PID" && wait "$PEER_PID" 2>/dev/null || true
head -c $((size - 1024)) snapshot.tar >short.tar
serve_file short.tar
expect_exit 2 env TMPDIR="$AT" "$FWSEAL" audit --server "$PEER_URL" --token-file auditor.tok --cacert "$CA"
expect_stderr "does not restore"
[ -z "$(ls -A "$AT")" ] || fail "a truncated snapshot left files behind"
kill "$PEER_PID" && wait "$PEER_PID" 2>/dev/null || true

# ---- a forged report: signed by d2's key, about d1, planted in the store ----
FLEET_ENVELOPE_OUT=$TMP/forged.json report d1 d2 2
[ "$(cat rstatus)" = 403 ] || { cat report.json >&2; fail "the server took a report signed by another device"; }
fsha=$(sha256sum forged.json | cut -d' ' -f1)
sqlite3 -cmd ".timeout 10000" "$SRV_DEPLOY/fwseal.sqlite" \
  "INSERT INTO reports (device_id, kind, body_sha256, body, received_at, ledger_index)
   VALUES ('$ID1', 'install', '$fsha', readfile('$TMP/forged.json'), strftime('%s', 'now'), NULL)" ||
  fail "cannot plant the forged report"
remote_audit 1 --token-file auditor.tok --cacert "$CA" --vkey vkey --state state --json
expect_stderr "red flags"
[ "$(json_get stdout "d.findings.filter(f => f.check == 'forged-report' && f.subject == '$ID1').length")" = 1 ] ||
  { cat stdout >&2; fail "the forged report was not found"; }
[ "$(json_get stdout d.summary.red)" = 1 ] || fail "other red flags than the forged report"

# ---- the audit trail names every snapshot ----
token admin
srv_curl "/api/v1/audit?limit=100" -H "Authorization: Bearer $(cat admin.tok)"
expect_status 200
n=$(json_get body "d.audit.filter(a => a.action == 'audit.snapshot' && /status 200; snapshot of/.test(a.detail)).length")
[ "$n" -ge 5 ] || { cat body >&2; fail "audit.snapshot entries: $n"; }
[ "$(json_get body "d.audit.filter(a => a.action == 'audit.snapshot' && /status 403/.test(a.detail)).length")" -ge 2 ] ||
  fail "refused snapshots are not in the audit trail"
ok
srv_stop || fail "fwseal serve exit status"

# ---- a PostgreSQL-backed server answers 501 ----
. "$FWS_SOURCE_DIR/tests/lib/pg.sh"
pg_start || fail "cannot start PostgreSQL from ${PG_BIN} (scripts/setup installs it)"
URL=$(pg_createdb fwseal_snapshot) || fail "cannot create a database"
srv_start --store "$URL"
"$FWSEAL" token create --dir "$SRV_DEPLOY" --store "$URL" --role auditor --json |
  json_get /dev/stdin d.token >pg.tok || fail "token create on PostgreSQL"
srv_curl /api/v1/audit/snapshot -H "Authorization: Bearer $(cat pg.tok)"
expect_status 501
expect_body 'store is PostgreSQL'
remote_audit 2 --token-file pg.tok --cacert "$CA"
expect_stderr "the server cannot make a snapshot: this server's store is PostgreSQL"
srv_stop || fail "fwseal serve exit status (PostgreSQL)"
finish
