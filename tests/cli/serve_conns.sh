#!/usr/bin/env bash
# fwseal serve holds 2,000 concurrent keep-alive mutual-TLS device connections: every one is
# open at the same time and makes three requests to a device endpoint, with no error.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"
cd "$TMP"
POLLGEN=${FWS_BUILD_DIR:?}/fwseal-pollgen
[ -x "$POLLGEN" ] || fail "$POLLGEN not built"
ulimit -n 8192 || fail "cannot raise the descriptor limit"

srv_deploy
ID=$(srv_device d1)
# Handshakes queue up behind each other on 2 cores (slower still under ASan and a loaded CI
# machine): the deadlines must not be what fails.
srv_start --device-burst 100000 --device-rate 100000 --request-timeout 300000 --idle-timeout 300000
"$POLLGEN" --port "$SRV_PORT" --cacert "$SRV_DEPLOY/pki/prod/root.crt" --cert "$TMP/d1/device.crt" \
  --key "$TMP/d1.key" --path /device/v1/whoami --connections 2000 --requests 3 --hold \
  --threads 2 >run.json 2>run.err || { cat run.json >&2; head -c 2000 run.err >&2; tail -5 "$SRV_LOG" >&2; fail "load generator reported errors"; }
[ "$(json_get run.json d.errors)" = 0 ] || fail "errors: $(cat run.json)"
[ "$(json_get run.json d.requests)" = 6000 ] || fail "requests: $(cat run.json)"
[ "$(json_get run.json d.max_open)" = 2000 ] || fail "not all open at once: $(cat run.json)"
ok
srv_curl /metrics
expect_body '^fwseal_http_requests_total\{code="2xx"\} (600[0-9]|60[1-9][0-9])$'
expect_body '^fwseal_http_requests_total\{code="4xx"\} 0$'
expect_body '^fwseal_tls_handshake_failures_total 0$'
srv_dcurl d1 /device/v1/whoami
expect_status 200
[ "$(json_get body d.device)" = "$ID" ] || fail "device id"
srv_stop || fail "serve exited non-zero"
finish
