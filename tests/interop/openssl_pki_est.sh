#!/usr/bin/env bash
# fwseal est (the device side) against `openssl s_server -WWW` on loopback: /cacerts holds a
# certs-only PKCS#7 made by `openssl crl2pkcs7`; the server is pinned by its public key.
# (Enrollment needs POST, which s_server does not serve: tests/unit/test_pki_estclient.c runs
# enroll and reenroll against the library's handlers over TLS.)
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"
D=$TMP/deploy
SRV=
stop_server() { [ -n "$SRV" ] && kill "$SRV" 2>/dev/null; wait "$SRV" 2>/dev/null || true; SRV=; }
trap 'stop_server; cleanup' EXIT

expect_exit 0 "$FWSEAL" ca init --dir "$D" --env prod
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key \
  -out srv.crt -subj /CN=est.test -addext subjectAltName=IP:127.0.0.1 -days 1 2>/dev/null
mkdir -p www/.well-known/est/prod
openssl crl2pkcs7 -nocrl -certfile "$D/pki/prod/intermediate.crt" -certfile "$D/pki/prod/root.crt" \
  -outform DER | base64 >www/.well-known/est/prod/cacerts
(cd www && exec openssl s_server -WWW -accept 127.0.0.1:0 -cert ../srv.crt -key ../srv.key \
  -naccept 20 >../srv.log 2>&1) &
SRV=$!
for _ in $(seq 1 50); do grep -q "^ACCEPT" srv.log 2>/dev/null && break; sleep 0.1; done
PORT=$(grep -o 'ACCEPT 127.0.0.1:[0-9]*' srv.log | cut -d: -f2)
[ -n "$PORT" ] || { cat srv.log; fail "openssl s_server did not start"; }
PIN="sha256//$(openssl x509 -in srv.crt -noout -pubkey | openssl pkey -pubin -outform DER |
  openssl dgst -sha256 -binary | base64)"
echo "$PIN" >server.pin

expect_exit 0 "$FWSEAL" est cacerts --server "https://127.0.0.1:$PORT" --label prod --pin "$PIN" --out a
fp() { openssl x509 -noout -fingerprint -sha256 "$@"; }
got=$(openssl crl2pkcs7 -nocrl -certfile a/cacerts.pem | openssl pkcs7 -print_certs | \
  awk '/BEGIN/,/END/' | openssl x509 -noout -fingerprint -sha256)
[ -n "$got" ] || fail "no certificates written"
grep -c "BEGIN CERTIFICATE" a/cacerts.pem | grep -qx 2 || fail "two certificates expected"
for f in root intermediate; do
  want=$(fp -in "$D/pki/prod/$f.crt")
  csplit -s -z -f c a/cacerts.pem '/-----BEGIN/' '{*}'
  found=0
  for c in c*; do [ "$(fp -in "$c")" = "$want" ] && found=1; done
  rm -f c0*
  [ $found = 1 ] || fail "$f certificate not received"
done
ok
# The pin from a file (the bundle's server.pin).
expect_exit 0 "$FWSEAL" est cacerts --server "https://127.0.0.1:$PORT" --label prod --pin-file server.pin --out b --json
[ "$(json_get stdout d.action)" = "est cacerts" ] || fail "--json"
# Another key pinned: refused before any request.
expect_exit 2 "$FWSEAL" est cacerts --server "https://127.0.0.1:$PORT" --label prod \
  --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" --out c
expect_stderr "does not match pinned public key"
[ ! -e c/cacerts.pem ] || fail "wrote certificates from an unpinned server"
# Verified with the right CA file instead of a pin; with the wrong one, refused.
expect_exit 0 "$FWSEAL" est cacerts --server "https://127.0.0.1:$PORT" --label prod --cacert srv.crt --out d
expect_exit 2 "$FWSEAL" est cacerts --server "https://127.0.0.1:$PORT" --label prod \
  --cacert "$D/pki/prod/root.crt" --out e
# Neither pinned nor verified: a usage error, nothing sent.
expect_exit 2 "$FWSEAL" est cacerts --server "https://127.0.0.1:$PORT" --out f
expect_stderr "pinned"
# A path the server does not have (s_server answers with an error page): nothing written.
expect_exit 2 "$FWSEAL" est cacerts --server "https://127.0.0.1:$PORT" --label dev --pin "$PIN" --out g
expect_stderr "refused|not base64"
[ ! -e g/cacerts.pem ] || fail "wrote certificates from an error page"
# Renewal waits for two thirds of the lifetime unless forced.
expect_exit 0 "$FWSEAL" device model add --dir "$D" hub-v2
openssl ecparam -name prime256v1 -genkey -noout -out dev.key 2>/dev/null
openssl req -new -key dev.key -subj /CN=x -out dev.csr
expect_exit 0 "$FWSEAL" provision --dir "$D" --env prod --serial S1 --model hub-v2 --batch B \
  --csr dev.csr --out bundle --no-ledger --validity-days 30
expect_exit 0 "$FWSEAL" est reenroll --server "https://127.0.0.1:$PORT" --pin "$PIN" \
  --cert bundle/device.crt --key dev.key --out op --json
[ "$(json_get stdout d.action)" = "not due" ] || fail "renewal should not be due yet"
[ ! -e op ] || fail "renewal wrote files before it was due"
stop_server
finish
