#!/usr/bin/env bash
# fwseal serve: every endpoint through real HTTPS clients (curl, node's https module, fwseal's
# own EST client) with real certificates from the deployment; device authentication and its
# refusals (no certificate, another environment's, revoked, expired); operator tokens and
# roles; the audit trail; graceful shutdown.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"
cd "$TMP"

# ---- command line ----
expect_exit 0 "$FWSEAL" serve --help
grep -q -- "--check-config" stdout || fail "serve --help"
expect_exit 2 "$FWSEAL" serve
expect_stderr "dir is required"
expect_exit 2 "$FWSEAL" serve --dir "$TMP/nothing" --check-config
expect_stderr "nothing"
expect_exit 0 "$FWSEAL" token --help

srv_deploy
ID1=$(srv_device d1)
ID2=$(srv_device d2)
DEVID=$(srv_device dv dev)
expect_exit 2 "$FWSEAL" serve --dir "$SRV_DEPLOY" --no-keys --check-config
expect_stderr "no server certificate"
expect_exit 0 "$FWSEAL" serve cert --dir "$SRV_DEPLOY" --env prod --name fw.example.com --json
PIN=$(json_get stdout d.pin)
[ "$(cat "$SRV_DEPLOY/server/pin")" = "$PIN" ] || fail "server/pin"
openssl verify -CAfile "$SRV_DEPLOY/pki/prod/root.crt" -untrusted "$SRV_DEPLOY/pki/prod/intermediate.crt" \
  "$SRV_DEPLOY/server/server.crt" >/dev/null || fail "openssl verify server.crt"
openssl x509 -in "$SRV_DEPLOY/server/server.crt" -noout -ext subjectAltName | grep -q "fw.example.com" ||
  fail "server SAN"
# Renewal keeps the key, so the devices' pin holds.
expect_exit 0 "$FWSEAL" serve cert --dir "$SRV_DEPLOY" --env prod --json
[ "$(json_get stdout d.pin)" = "$PIN" ] || fail "pin changed on renewal"
expect_exit 0 "$FWSEAL" serve --dir "$SRV_DEPLOY" --check-config
expect_exit 2 "$FWSEAL" serve --dir "$SRV_DEPLOY" --listen nonsense --check-config
expect_exit 2 "$FWSEAL" serve --dir "$SRV_DEPLOY" --env staging --check-config
expect_stderr "staging"

# A release, so there is a target to fetch.
head -c 300000 /dev/urandom >fw.bin
expect_exit 0 "$FWSEAL" release add --dir "$SRV_DEPLOY" fw.bin --product hub --version 1.0.0 \
  --hardware hub-v2 --security-counter 1 --json
TARGET_SHA=$(sha256sum fw.bin | cut -d' ' -f1)

# The dashboard's files.
mkdir web
echo '<!doctype html><title>fwseal</title>' >web/index.html
echo 'export const x = 1;' >web/app.js
echo 'body{}' >web/style.css

srv_start --web "$TMP/web" --access-log --device-burst 5
C="--cacert $SRV_DEPLOY/pki/prod/root.crt"

# ---- the TUF repository ----
srv_curl /repo/metadata/timestamp.json -D headers
expect_status 200
expect_body '"_type":"timestamp"'
grep -qi '^Content-Type: application/json' headers || fail "timestamp content type"
grep -qi '^Cache-Control: no-cache' headers || fail "timestamp cache"
cmp -s body "$SRV_DEPLOY/repo/metadata/timestamp.json" || fail "timestamp bytes"
srv_curl /repo/metadata/1.root.json -D headers
expect_status 200
grep -qi 'Cache-Control: public, max-age=31536000, immutable' headers || fail "versioned cache"
ETAG=$(grep -i '^ETag:' headers | cut -d' ' -f2 | tr -d '\r')
srv_curl /repo/metadata/1.root.json -H "If-None-Match: $ETAG"
expect_status 304
srv_curl /repo/metadata/timestamp.json -I
expect_status 200
srv_curl /repo/metadata/../fwseal.json
expect_status 400
srv_curl /repo/metadata/%2e%2e/fwseal.json
expect_status 400
srv_curl /repo/metadata/nope.json
expect_status 404
expect_body '"code":"not_found"'
srv_curl "/repo/targets/hub/1.0.0/$TARGET_SHA.fw.bin" -D headers
expect_status 200
cmp -s body fw.bin || fail "target bytes"
grep -qi '^Content-Type: application/octet-stream' headers || fail "target type"
srv_curl "/repo/targets/hub/1.0.0/$TARGET_SHA.fw.bin" -H 'Range: bytes=1000-1999'
expect_status 206
cmp -s body <(tail -c +1001 fw.bin | head -c 1000) || fail "range bytes"
srv_curl "/repo/targets/hub/1.0.0/$TARGET_SHA.fw.bin" -H 'Range: bytes=400000-'
expect_status 416

# ---- the ledger ----
srv_curl /log/checkpoint -D headers
expect_status 200
grep -qi 'Cache-Control: public, max-age=2' headers || fail "checkpoint cache"
SIZE=$(sed -n 2p body)
[ "$SIZE" -ge 4 ] || fail "checkpoint size $SIZE"
srv_curl "/log/tile/0/000.p/$SIZE" -D headers
expect_status 200
[ "$(stat -c %s body)" = $((SIZE * 32)) ] || fail "partial tile length"
grep -qi 'max-age=60' headers || fail "partial tile cache"
srv_curl "/log/tile/entries/000.p/$SIZE"
expect_status 200
srv_curl /log/tile/0/0001
expect_status 404

# ---- CRL ----
srv_curl /crl/prod.crl -D headers
expect_status 200
grep -qi '^Content-Type: application/pkix-crl' headers || fail "crl type"
openssl crl -inform DER -in body -noout -issuer | grep -q . || fail "crl DER"
srv_curl /crl/staging.crl
expect_status 404

# ---- devices ----
srv_dcurl d1 /device/v1/whoami
expect_status 200
[ "$(json_get body d.device)" = "$ID1" ] || fail "device id from the certificate"
srv_curl /device/v1/whoami
expect_status 401
expect_body 'needs a device client certificate'
srv_dcurl dv /device/v1/whoami
expect_status 403
expect_body "not issued by this environment's device CA"
# An expired certificate from the right CA.
mkdir -p ca/new && : >ca/index.txt && echo 01 >ca/serial
cat >ca/ca.cnf <<EOF
[ca]
default_ca = c
[c]
database = $TMP/ca/index.txt
new_certs_dir = $TMP/ca/new
serial = $TMP/ca/serial
default_md = sha256
policy = p
x509_extensions = ext
[p]
commonName = supplied
[ext]
subjectAltName = URI:urn:fwseal:device:0123456789abcdef0123456789abcdef
extendedKeyUsage = clientAuth
EOF
openssl ca -batch -config ca/ca.cnf -cert "$SRV_DEPLOY/pki/prod/intermediate.crt" \
  -keyfile "$SRV_DEPLOY/pki/prod/intermediate.key" -passin env:FWSEAL_PASSPHRASE -in d2.csr \
  -out old.crt -startdate 20200101000000Z -enddate 20200201000000Z -notext 2>/dev/null ||
  fail "openssl ca"
srv_curl /device/v1/whoami --cert old.crt --key d2.key
expect_status 403
expect_body 'expired'
# Node's https module with a device certificate.
node -e '
const https = require("https"), fs = require("fs");
const [port, dir, tmp] = process.argv.slice(1);
const opts = {host: "localhost", port, path: "/device/v1/whoami", ca: fs.readFileSync(dir + "/pki/prod/root.crt"),
  cert: fs.readFileSync(tmp + "/d2/device.crt"), key: fs.readFileSync(tmp + "/d2.key")};
https.get(opts, res => { let b = ""; res.on("data", d => b += d); res.on("end", () => {
  if (res.statusCode !== 200) { console.error(res.statusCode, b); process.exit(1); }
  process.stdout.write(JSON.parse(b).device); }); }).on("error", e => { console.error(e.message); process.exit(1); });
' "$SRV_PORT" "$SRV_DEPLOY" "$TMP" >node.out || fail "node https client"
[ "$(cat node.out)" = "$ID2" ] || fail "node: device id"
ok
# Revocation: the CRL is regenerated and the server reloads it; new connections are refused.
expect_exit 0 "$FWSEAL" device revoke --dir "$SRV_DEPLOY" "$ID1" --reason key-compromise
for i in $(seq 1 50); do
  srv_dcurl d1 /device/v1/whoami
  [ "$(cat status)" = 403 ] && break
  sleep 0.1
done
expect_status 403
expect_body 'revoked'
srv_dcurl d2 /device/v1/whoami
expect_status 200

# ---- EST ----
expect_exit 0 "$FWSEAL" est cacerts --server "$SRV_URL" --label prod --pin "$PIN" --out estc --json
openssl x509 -in estc/cacerts.pem -noout || fail "cacerts"
expect_exit 0 "$FWSEAL" est enroll --server "$SRV_URL" --cert d2/device.crt --key d2.key \
  --cacert "$SRV_DEPLOY/pki/prod/root.crt" --out ope --json
openssl verify -CAfile "$SRV_DEPLOY/pki/prod/root.crt" -untrusted "$SRV_DEPLOY/pki/prod/intermediate.crt" \
  ope/operational.crt >/dev/null || fail "operational certificate"
expect_exit 2 "$FWSEAL" est enroll --server "$SRV_URL" --cert d1/device.crt --key d1.key \
  --cacert "$SRV_DEPLOY/pki/prod/root.crt" --out ope1
expect_stderr "HTTP 403.*revoked"
srv_curl /.well-known/est/staging/cacerts
expect_status 404
srv_curl /.well-known/est/simpleenroll
expect_status 405

# ---- operator tokens ----
expect_exit 0 "$FWSEAL" token create --dir "$SRV_DEPLOY" --role admin --name alice
ADMIN=$(cat stdout)
[[ "$ADMIN" =~ ^fwst_[0-9a-f]{64}$ ]] || fail "token format"
grep -q "shown once" stderr || fail "token create note"
if grep -rq "$ADMIN" "$SRV_DEPLOY"; then fail "token stored in clear"; fi
ok
expect_exit 0 "$FWSEAL" token create --dir "$SRV_DEPLOY" --role auditor --name bob --json
AUDITOR=$(json_get stdout d.token)
expect_exit 2 "$FWSEAL" token create --dir "$SRV_DEPLOY" --role king
expect_stderr "admin, release, factory or auditor"
srv_curl /api/v1/whoami -H "Authorization: Bearer $ADMIN"
expect_status 200
[ "$(json_get body d.role)" = admin ] && [ "$(json_get body d.name)" = alice ] || fail "whoami"
srv_curl /api/v1/whoami -D headers
expect_status 401
grep -qi '^WWW-Authenticate: Bearer' headers || fail "WWW-Authenticate"
srv_curl /api/v1/whoami -H "Authorization: Bearer fwst_$(printf '%064d' 0)"
expect_status 401
expect_body 'unknown operator token'
srv_curl /api/v1/whoami -H "Authorization: Bearer nonsense"
expect_status 401
expect_body 'malformed operator token'
srv_curl /api/v1/tokens -H "Authorization: Bearer $AUDITOR" -X POST -d '{"name":"x","role":"admin"}'
expect_status 403
expect_body 'token role \\"auditor\\" may not POST /api/v1/tokens \(roles allowed: admin\)'
srv_curl /api/v1/tokens -H "Authorization: Bearer $ADMIN" -X POST -d '{"name":"x","role":'
expect_status 400
expect_body 'request body is not valid JSON'
srv_curl /api/v1/tokens -H "Authorization: Bearer $ADMIN" -X POST -d '[1]'
expect_status 400
expect_body 'must be a JSON object'
srv_curl /api/v1/tokens -H "Authorization: Bearer $ADMIN" -X POST -d '{"name":"x"}'
expect_status 400
expect_body 'missing field \\"role\\"'
srv_curl /api/v1/tokens -H "Authorization: Bearer $ADMIN" -X POST -d '{"name":"ci","role":"factory"}'
expect_status 201
FACTORY=$(json_get body d.token)
FACTORY_ID=$(json_get body d.id)
srv_curl /api/v1/tokens -H "Authorization: Bearer $ADMIN"
expect_status 200
[ "$(json_get body 'd.tokens.length')" = 3 ] || fail "token list"
if grep -q fwst_ body; then fail "token list shows tokens"; fi
ok

# POST /log/add by an authorized writer; the checkpoint grows.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
REC="{\"type\":\"key\",\"schema\":1,\"time\":\"$NOW\",\"role\":\"timestamp\",\"action\":\"rotate\",\"keyid\":\"$(printf 'ab%.0s' $(seq 32))\"}"
srv_curl /log/add -H "Authorization: Bearer $AUDITOR" -X POST -d "$REC"
expect_status 403
srv_curl /log/add -H "Authorization: Bearer $FACTORY" -X POST -d '{"type":"key"}'
expect_status 400
srv_curl /log/add -H "Authorization: Bearer $FACTORY" -X POST -d "$REC"
if [ "$(cat status)" != 200 ]; then
  # The key record's fields are the ledger's to define: take any record type it accepts.
  REC="{\"type\":\"revoke\",\"schema\":1,\"time\":\"$NOW\",\"subject\":\"release\",\"id\":\"hub/0.0.1\",\"reason\":\"test\"}"
  srv_curl /log/add -H "Authorization: Bearer $FACTORY" -X POST -d "$REC"
fi
expect_status 200
INDEX=$(json_get body d.index)
[ "$INDEX" -ge "$SIZE" ] || fail "ledger index $INDEX"
for i in $(seq 1 50); do
  srv_curl /log/checkpoint
  [ "$(sed -n 2p body)" -gt "$INDEX" ] && break
  sleep 0.1
done
[ "$(sed -n 2p body)" -gt "$INDEX" ] || fail "checkpoint did not grow past $INDEX"
ok

# A revoked token stops working; the audit trail holds every operator action.
expect_exit 0 "$FWSEAL" token revoke --dir "$SRV_DEPLOY" "$FACTORY_ID"
srv_curl /api/v1/whoami -H "Authorization: Bearer $FACTORY"
expect_status 401
expect_body 'revoked'
srv_curl /api/v1/audit -H "Authorization: Bearer $AUDITOR"
expect_status 200
node -e '
const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).audit;
const has = (act, who, st) => a.some(e => e.action === act && e.actor.startsWith(who) && e.detail.startsWith("status " + st));
const need = [["log.add", "ci", 200], ["log.add", "ci", 400], ["log.add", "bob", 403], ["token.create", "alice", 201], ["token.create", "bob", 403]];
for (const n of need) if (!has(...n)) { console.error("missing audit entry", n); process.exit(1); }
if (!a.some(e => e.action === "token.revoke")) { console.error("no token.revoke"); process.exit(1); }
' body || fail "audit trail"
ok

# ---- operations and the dashboard ----
srv_curl /healthz
expect_status 200
[ "$(json_get body d.status)" = ok ] || fail "healthz"
srv_curl /metrics -D headers
expect_status 200
expect_body '^fwseal_http_requests_total\{code="2xx"\} [1-9]'
expect_body '^fwseal_connections_open '
grep -qi '^Content-Type: text/plain; version=0.0.4' headers || fail "metrics type"
srv_curl / -D headers
expect_status 200
grep -qi '^Content-Type: text/html' headers || fail "index type"
srv_curl /app.js -D headers
grep -qi '^Content-Type: text/javascript' headers || fail "js type"
srv_curl /style.css -D headers
grep -qi '^Content-Type: text/css' headers || fail "css type"
srv_curl /nothing.html
expect_status 404
srv_curl /healthz -X DELETE -D headers
expect_status 405
grep -qi '^Allow: GET, HEAD' headers || fail "Allow"

# ---- graceful shutdown: a download in flight completes, then the server exits 0 ----
curl -sS --cacert "$SRV_DEPLOY/pki/prod/root.crt" --limit-rate 100k -o slow.bin \
  "$SRV_URL/repo/targets/hub/1.0.0/$TARGET_SHA.fw.bin" 2>slow.err &
CURL_PID=$!
for i in $(seq 1 50); do [ -s slow.bin ] && break; sleep 0.1; done
[ -s slow.bin ] || fail "download did not start"
srv_stop || fail "serve exited non-zero"
wait "$CURL_PID" || { cat slow.err >&2; fail "download cut by the shutdown"; }
cmp -s slow.bin fw.bin || fail "download incomplete after shutdown"
ok
grep -q '"signal received: shutting down"' "$SRV_LOG" || fail "no shutdown log"
grep -q ' info stopped' "$SRV_LOG" || fail "no stop log"
grep -q 'request remote=127.0.0.1 method=GET path=/healthz status=200' "$SRV_LOG" || fail "access log"

# Structured logs in JSON.
: >"$SRV_LOG"
srv_start --log-format json
srv_stop || fail "serve (json logs) exited non-zero"
node -e '
for (const l of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")) {
  const o = JSON.parse(l); if (!o.time || !o.level || !o.msg) process.exit(1); }' "$SRV_LOG" ||
  fail "json logs"
ok
finish
