#!/usr/bin/env bash
# Update-check benchmark: devices polling timestamp.json over mutual TLS with keep-alive.
# fwseal-pollgen opens POLL_CONNECTIONS connections with a device certificate and polls for
# POLL_SECONDS, first against `fwseal serve`, then against nginx (Debian's nginx-light) serving
# the same file with the same server certificate, the same client verification (the device
# CA and its CRL, a certificate required: --repo-auth device / ssl_verify_client on) and TLS
# 1.3, in the same run. Prints requests per second of each, the ratio,
# and the p50/p99 latencies. Target: fwseal at least half of nginx's rate.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FWS_BUILD_DIR:-$SRC/build}
FWSEAL=${FWSEAL:-$BUILD/fwseal}
POLLGEN=${POLLGEN:-$BUILD/fwseal-pollgen}
SECONDS_EACH=${POLL_SECONDS:-10}
CONNS=${POLL_CONNECTIONS:-64}
THREADS=${POLL_THREADS:-$(nproc)}
for b in "$FWSEAL" "$POLLGEN"; do
  [ -x "$b" ] || { echo "poll.sh: $b not built (make build)" >&2; exit 2; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "poll.sh: nginx not installed (scripts/setup installs nginx-light)" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fwseal-poll.XXXXXX")
SRV_PID=
NGX_STARTED=
cleanup() {
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  [ -n "$NGX_STARTED" ] && "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -s stop 2>/dev/null
  if [ -n "${POLL_KEEP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
export FWSEAL_PASSPHRASE=${FWSEAL_PASSPHRASE:-bench passphrase}
D=$TMP/deploy
cd "$TMP"

# ---- a deployment, a device, the server certificate ----
"$FWSEAL" init --dir "$D" --origin bench.example/hub >/dev/null
"$FWSEAL" ca init --dir "$D" --env prod >/dev/null
"$FWSEAL" device model add --dir "$D" hub-v2 >/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out dev.key 2>/dev/null
openssl req -new -key dev.key -subj /CN=bench -out dev.csr 2>/dev/null
"$FWSEAL" provision --dir "$D" --env prod --serial SN-BENCH --model hub-v2 --batch B1 --csr dev.csr \
  --out dev --json >/dev/null
"$FWSEAL" serve cert --dir "$D" --env prod >/dev/null
cat "$D/pki/prod/root.crt" "$D/pki/prod/intermediate.crt" >device-ca.pem
# nginx checks CRLs for the whole chain (CRL_CHECK_ALL): give it the root's as well.
cat "$D/pki/prod/crl.pem" "$D/pki/prod/root-crl.pem" >device-crls.pem

run() { # run PORT LABEL
  "$POLLGEN" --port "$1" --cacert "$D/pki/prod/root.crt" --cert dev/device.crt --key dev.key \
    --path /repo/metadata/timestamp.json --connections "$CONNS" --threads "$THREADS" \
    --duration "$SECONDS_EACH" >"$2.json" || { echo "poll.sh: $2: errors" >&2; cat "$2.json" >&2; exit 1; }
}
field() { node -e "process.stdout.write(String(JSON.parse(require('fs').readFileSync('$1','utf8'))['$2']))"; }

# ---- fwseal serve ----
"$FWSEAL" serve --dir "$D" --listen 127.0.0.1:0 --port-file fwseal.port --no-keys \
  --threads "$(nproc)" --repo-auth device >serve.log 2>&1 &
SRV_PID=$!
for _ in $(seq 1 100); do [ -s fwseal.port ] && break; sleep 0.1; done
[ -s fwseal.port ] || { cat serve.log >&2; exit 1; }
sleep 0.3
run "$(cat fwseal.port)" fwseal
kill "$SRV_PID"; wait "$SRV_PID" || true; SRV_PID=

# ---- nginx, the same file, certificate and client verification ----
NPORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir -p nginx/logs nginx/tmp
USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
cat >nginx/nginx.conf <<EOF
$USER_LINE
worker_processes $(nproc);
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/tmp/body;
  proxy_temp_path $TMP/nginx/tmp/proxy;
  fastcgi_temp_path $TMP/nginx/tmp/fastcgi;
  uwsgi_temp_path $TMP/nginx/tmp/uwsgi;
  scgi_temp_path $TMP/nginx/tmp/scgi;
  types { application/json json; }
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$NPORT ssl;
    server_name localhost;
    ssl_protocols TLSv1.3;
    ssl_certificate $D/server/server.crt;
    ssl_certificate_key $D/server/server.key;
    ssl_client_certificate $TMP/device-ca.pem;
    ssl_verify_client on;
    ssl_verify_depth 2;
    ssl_crl $TMP/device-crls.pem;
    location /repo/ { alias $D/repo/; add_header Cache-Control no-cache; }
  }
}
EOF
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -t 2>nginx/test.log || { cat nginx/test.log >&2; exit 2; }
"$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf"
NGX_STARTED=1
for _ in $(seq 1 50); do [ -s nginx/nginx.pid ] && break; sleep 0.1; done
sleep 0.3
run "$NPORT" nginx

F_RPS=$(field fwseal.json rps); N_RPS=$(field nginx.json rps)
node -e '
const [f, n] = process.argv.slice(1).map(p => JSON.parse(require("fs").readFileSync(p, "utf8")));
const ratio = f.rps / n.rps;
console.log(`timestamp.json over mutual TLS 1.3, ${f.connections} keep-alive connections, ${f.seconds.toFixed(1)} s each`);
console.log(`fwseal serve: ${f.rps.toFixed(0)} requests/s  p50 ${f.p50_ms} ms  p99 ${f.p99_ms} ms  (${f.requests} requests, ${f.errors} errors)`);
console.log(`nginx:        ${n.rps.toFixed(0)} requests/s  p50 ${n.p50_ms} ms  p99 ${n.p99_ms} ms  (${n.requests} requests, ${n.errors} errors)`);
console.log(`ratio fwseal/nginx: ${ratio.toFixed(2)} (target >= 0.50): ${ratio >= 0.5 ? "ok" : "BELOW TARGET"}`);
process.exit(ratio >= 0.5 ? 0 : 1);
' fwseal.json nginx.json
