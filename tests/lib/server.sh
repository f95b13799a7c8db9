# Helpers for tests that run `fwseal serve` on loopback. Source after common.sh:
#   . "$FWS_SOURCE_DIR/tests/lib/common.sh"
#   . "$FWS_SOURCE_DIR/tests/lib/server.sh"
#   srv_deploy                 # $SRV_DEPLOY: a deployment with prod and dev device CAs
#   ID=$(srv_device d1)        # $TMP/d1.key, $TMP/d1/device.crt (prod); srv_device d2 dev
#   srv_start [serve options]  # $SRV_PORT, $SRV_URL, $SRV_PID; waits for /healthz
#   srv_curl PATH [curl options]          # public request; srv_dcurl NAME PATH ... with a device
#   srv_stop                   # SIGTERM, waits; returns serve's exit status
# The server listens on 127.0.0.1 with a port the kernel picks; its log is $TMP/serve.log
# (FWS_KEEP_TMP=1 keeps $TMP for a look after a failure).

SRV_PID=
SRV_PORT=
SRV_URL=
SRV_DEPLOY=$TMP/deploy
SRV_LOG=$TMP/serve.log

_srv_cleanup() {
  if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then
    kill -KILL "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
  fi
  if [ -n "${FWS_KEEP_TMP:-}" ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap _srv_cleanup EXIT

# srv_deploy [ORIGIN]: fwseal init, device CAs for prod and dev, the model hub-v2.
srv_deploy() {
  "$FWSEAL" init --dir "$SRV_DEPLOY" --origin "${1:-example.com/hub}" >/dev/null ||
    fail "srv_deploy: fwseal init"
  "$FWSEAL" ca init --dir "$SRV_DEPLOY" --env prod >/dev/null || fail "srv_deploy: ca init prod"
  "$FWSEAL" ca init --dir "$SRV_DEPLOY" --env dev >/dev/null || fail "srv_deploy: ca init dev"
  "$FWSEAL" device model add --dir "$SRV_DEPLOY" hub-v2 >/dev/null || fail "srv_deploy: model"
}

# srv_device NAME [ENV]: a P-256 key made by openssl, provisioned through fwseal provision.
# Prints the device ID. Files: $TMP/NAME.key, $TMP/NAME/device.crt, $TMP/NAME/chain.pem.
srv_device() {
  local name=$1 env=${2:-prod}
  openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/$name.key" 2>/dev/null
  openssl req -new -key "$TMP/$name.key" -subj "/CN=$name" -out "$TMP/$name.csr" 2>/dev/null
  "$FWSEAL" provision --dir "$SRV_DEPLOY" --env "$env" --serial "SN-$name" --model hub-v2 \
    --batch LOT1 --csr "$TMP/$name.csr" --out "$TMP/$name" --json >"$TMP/$name.json" ||
    fail "srv_device: provision $name"
  json_get "$TMP/$name.json" d.device
}

# srv_start [OPTIONS...]: starts fwseal serve and waits until /healthz answers.
srv_start() {
  rm -f "$TMP/srv.port"
  "$FWSEAL" serve --dir "$SRV_DEPLOY" --listen 127.0.0.1:0 --port-file "$TMP/srv.port" \
    --threads 2 "$@" >>"$SRV_LOG" 2>&1 &
  SRV_PID=$!
  local i
  for i in $(seq 1 200); do
    if [ -s "$TMP/srv.port" ]; then
      SRV_PORT=$(cat "$TMP/srv.port")
      SRV_URL=https://localhost:$SRV_PORT
      if curl -sS -o /dev/null --max-time 2 --cacert "$SRV_DEPLOY/pki/prod/root.crt" \
        "$SRV_URL/healthz" 2>/dev/null; then
        return 0
      fi
    fi
    kill -0 "$SRV_PID" 2>/dev/null || { cat "$SRV_LOG" >&2; fail "fwseal serve exited"; }
    sleep 0.1
  done
  cat "$SRV_LOG" >&2
  fail "fwseal serve did not come up"
}

# srv_stop: SIGTERM and wait; returns fwseal serve's exit status.
srv_stop() {
  local rc=0
  [ -n "$SRV_PID" ] || return 0
  kill -TERM "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" || rc=$?
  SRV_PID=
  return $rc
}

# srv_curl PATH [CURL OPTIONS...]: the body goes to $TMP/body, the status to $TMP/status.
srv_curl() {
  local path=$1; shift
  rm -f "$TMP/body"
  curl -sS --path-as-is --max-time 20 --cacert "$SRV_DEPLOY/pki/prod/root.crt" -o "$TMP/body" \
    -w '%{http_code}' "$@" "$SRV_URL$path" >"$TMP/status" 2>"$TMP/curl.err" || true
  [ -e "$TMP/body" ] || : >"$TMP/body"
}

# srv_dcurl NAME PATH [CURL OPTIONS...]: the same with device NAME's certificate and key.
srv_dcurl() {
  local name=$1 path=$2; shift 2
  srv_curl "$path" --cert "$TMP/$name/device.crt" --key "$TMP/$name.key" "$@"
}

# expect_status CODE: the last srv_curl answered CODE.
expect_status() {
  local got
  got=$(cat "$TMP/status")
  [ "$got" = "$1" ] || { cat "$TMP/body" >&2 2>/dev/null; echo >&2; fail "HTTP $got, want $1"; }
  ok
}

# expect_body REGEX: the last srv_curl's body matches.
expect_body() {
  grep -Eq -- "$1" "$TMP/body" || { cat "$TMP/body" >&2; echo >&2; fail "body does not match /$1/"; }
  ok
}
