#!/usr/bin/env bash
# fwseal serve under bad input and abuse: body and header caps (413, 431), malformed requests
# (400, 505, 501), slow and idle clients dropped, the per-device rate limit (429), the
# connection cap, pipelined requests.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"
cd "$TMP"

srv_deploy
srv_device d1 >/dev/null
srv_start --request-timeout 3000 --idle-timeout 2000 --device-burst 2 --device-rate 0.01 \
  --max-connections 50
ADMIN=$("$FWSEAL" token create --dir "$SRV_DEPLOY" --role admin --name admin 2>/dev/null)

# raw HEX_OR_TEXT... : sends each argument over TLS (a pause of PAUSE_MS between them, 0 by
# default) and prints what the server sent back, then "<closed>" if the server closed.
raw() {
  PAUSE_MS=${PAUSE_MS:-0} node -e '
const tls = require("tls"), fs = require("fs");
const [port, ca, ...parts] = process.argv.slice(1);
const pause = +process.env.PAUSE_MS;
let out = "", closed = false, sent = 0;
const s = tls.connect({host: "127.0.0.1", port: +port, servername: "localhost", ca: fs.readFileSync(ca)}, () => {
  const next = () => {
    if (closed || sent === parts.length) return;
    s.write(parts[sent++].replace(/\\r\\n/g, "\r\n"));
    setTimeout(next, pause);
  };
  next();
});
s.on("data", d => out += d);
s.on("error", () => {});
s.on("close", () => { closed = true; process.stdout.write(out + (sent < parts.length ? "<closed early>" : "<closed>")); process.exit(0); });
setTimeout(() => { process.stdout.write(out + "<still open after " + sent + ">"); process.exit(0); }, 30000);
' "$SRV_PORT" "$SRV_DEPLOY/pki/prod/root.crt" "$@"
}

# ---- body cap: 413 before the body is read ----
head -c 70000 /dev/zero | tr '\0' 'a' >big.json
srv_curl /log/add -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  --data-binary @big.json
expect_status 413
expect_body "request body of 70000 bytes is over this endpoint's limit of 65535"
srv_curl /api/v1/tokens -X POST -H "Authorization: Bearer $ADMIN" -H 'Expect:' --data-binary @big.json
expect_status 413

# ---- header caps: 431 ----
BIG=$(head -c 20000 /dev/zero | tr '\0' 'x')
srv_curl /healthz -H "X-Big: $BIG"
expect_status 431
expect_body 'request head larger than 16384 bytes'
ARGS=()
for i in $(seq 1 70); do ARGS+=(-H "X-H$i: v"); done
srv_curl /healthz "${ARGS[@]}"
expect_status 431
expect_body 'more than 64 header fields'

# ---- malformed requests ----
raw 'GARBAGE\r\n\r\n' >out
grep -q '^HTTP/1.1 400 ' out && grep -q '"code":"bad_request"' out && grep -q '<closed>' out ||
  fail "garbage request: $(cat out)"
ok
raw 'GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n' >out
grep -q '^HTTP/1.1 505 ' out || fail "HTTP/2.0: $(cat out)"
ok
raw 'GET /healthz HTTP/1.1\r\n\r\n' >out
grep -q '^HTTP/1.1 400 ' out && grep -q 'without Host' out || fail "no Host: $(cat out)"
ok
raw 'POST /log/add HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' >out
grep -q '^HTTP/1.1 501 ' out && grep -q 'Content-Length' out || fail "chunked: $(cat out)"
ok
raw 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n' >out
grep -q '^HTTP/1.1 400 ' out || fail "conflicting lengths: $(cat out)"
ok
srv_curl /api/v1/tokens -X PUT -H "Authorization: Bearer $ADMIN"
expect_status 405
srv_curl /api/v1/tokens -X POST -H "Authorization: Bearer $ADMIN" -d 'not json'
expect_status 400
expect_body 'request body is not valid JSON'

# ---- two pipelined requests on one connection, then the idle connection is closed ----
raw 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >out
[ "$(grep -c '^HTTP/1.1 200 ' out)" = 2 ] || fail "pipelining: $(cat out)"
grep -q '<closed>' out || fail "idle keep-alive connection not closed: $(cat out)"
ok

# ---- a slow client (one header byte a second) is dropped before it finishes ----
PARTS=('GET /healthz HTTP/1.1\r\n')
for c in H o s t : ' ' x '\r\n' X - A : ' ' b b b b b b b b b b b b b b; do PARTS+=("$c"); done
PARTS+=('\r\n\r\n')
PAUSE_MS=1000 raw "${PARTS[@]}" >out
grep -q '<closed early>' out || fail "slowloris not dropped: $(cat out)"
if grep -q 'HTTP/1.1' out; then fail "slowloris got an answer: $(cat out)"; fi
ok

# ---- per-device rate limit ----
srv_dcurl d1 /device/v1/whoami
expect_status 200
srv_dcurl d1 /device/v1/whoami
expect_status 200
srv_dcurl d1 /device/v1/whoami -D headers
expect_status 429
expect_body 'rate limit exceeded'
grep -qi '^Retry-After: [1-9]' headers || fail "Retry-After"

# ---- the connection cap ----
node -e '
const tls = require("tls"), fs = require("fs");
const [port, ca] = process.argv.slice(1);
const socks = []; let refused = 0, up = 0;
for (let i = 0; i < 60; i++) {
  const s = tls.connect({host: "127.0.0.1", port: +port, servername: "localhost", ca: fs.readFileSync(ca)});
  s.on("secureConnect", () => { up++; socks.push(s); });
  s.on("error", () => { refused++; });
  s.on("close", () => {});
}
setTimeout(() => { console.log(JSON.stringify({up, refused})); for (const s of socks) s.destroy(); process.exit(0); }, 1500);
' "$SRV_PORT" "$SRV_DEPLOY/pki/prod/root.crt" >caps.json
UP=$(json_get caps.json d.up)
[ "$UP" -le 50 ] && [ "$(json_get caps.json d.refused)" -ge 10 ] || fail "connection cap: $(cat caps.json)"
ok
srv_curl /metrics
expect_body '^fwseal_connections_refused_total [1-9]'
expect_body '^fwseal_rate_limited_total [1-9]'
expect_body '^fwseal_timeouts_total [1-9]'

srv_stop || fail "serve exited non-zero"

# ---- --repo-auth device: the repository needs a device certificate too ----
srv_start --repo-auth device
srv_curl /repo/metadata/timestamp.json
expect_status 401
srv_dcurl d1 /repo/metadata/timestamp.json
expect_status 200
expect_body '"_type":"timestamp"'
srv_curl /healthz
expect_status 200
srv_stop || fail "serve exited non-zero"
expect_exit 2 "$FWSEAL" serve --dir "$SRV_DEPLOY" --repo-auth maybe --check-config
expect_stderr "none or device"
finish
