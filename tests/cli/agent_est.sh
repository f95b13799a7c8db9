#!/usr/bin/env bash
# The device's operational identity over EST against `fwseal serve`: fwseal-agent --once enrolls
# with the factory identity of its bundle (fwseal provision), presents the operational
# certificate for mutual TLS afterwards (reports signed by its key are accepted by the server),
# renews it once two thirds of its lifetime have passed (fwseal-agent enroll --now), and a
# revoked device is refused; fwseal est enroll / reenroll against the same server.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/agent.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"
cd "$TMP"
D=$SRV_DEPLOY

# A deployment with a release, device CAs, the server's certificate (its pin goes into the
# bundles) and three devices, each with a P-256 key made on the "device" (openssl), provisioned
# from its CSR (srv_device); the key joins the bundle as device.key, encrypted with the
# passphrase as docs/AGENT.md says.
srv_deploy
head -c 100000 /dev/urandom >fw1.bin
head -c 50000 /dev/urandom >factory.img
expect_exit 0 "$FWSEAL" release add --dir "$D" fw1.bin --product hub --version 1.0.0 \
  --hardware hub-v2 --security-counter 1
expect_exit 0 "$FWSEAL" serve cert --dir "$D"
device() { # NAME: prints the device ID; bundle in NAME/
  local id
  id=$(srv_device "$1")
  openssl pkcs8 -topk8 -in "$1.key" -out "$1/device.key" -passout env:FWSEAL_PASSPHRASE ||
    fail "encrypting $1's key"
  echo "$id"
}
ID1=$(device d1)
ID2=$(device d2)
ID3=$(device d3)
ID4=$(device d4)
for f in device.crt device.key server.pin root.json ledger.vkey; do
  [ -s "d1/$f" ] || fail "bundle lacks $f"
done
ok
srv_start


# agent NAME ARGS...: one pass of device NAME against the server.
agent() {
  local n=$1; shift
  "$FWSEAL_AGENT" --server "$SRV_URL" --bundle "$n" --state "$n.st" --slot-backend file \
    --slot-dir "$n.slots" --hardware hub-v2 --product hub --version 0.9.0 --once \
    --target hub/1.0.0/fw1.bin "$@"
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
device_json() { "$FWSEAL" device show --dir "$D" "$1" --json >dev.json || fail "device show"; }

# ---- enrollment on the first pass ----------------------------------------------------------------
agent_device d1.slots factory.img
expect_exit 3 agent d1 --json
[ "$(json_get stdout d.identity)" = operational ] || fail "pass did not present the operational identity"
[ "$(json_get stdout d.est)" = enrolled ] || fail "first pass did not enroll"
[ "$(json_get stdout d.outcome)" = installed ] || fail "the pass over mutual TLS did not install"
OP=d1.st/identity/operational.crt
[ -s $OP ] && [ -s d1.st/identity/operational.key ] || fail "operational identity not kept"
[ "$(stat -c %a d1.st/identity/operational.key)" = 600 ] || fail "operational key mode"
grep -q 'BEGIN ENCRYPTED PRIVATE KEY' d1.st/identity/operational.key || fail "key not encrypted"
# Issued by the prod CA for this device, for the key the agent made (not the factory key).
openssl verify -CAfile "$D/pki/prod/root.crt" -untrusted "$D/pki/prod/intermediate.crt" $OP \
  >/dev/null || fail "openssl does not verify the operational certificate"
openssl x509 -in $OP -noout -ext subjectAltName | grep -q "urn:fwseal:device:$ID1" ||
  fail "operational certificate names another device"
op_pub=$(openssl x509 -in $OP -noout -pubkey)
[ "$op_pub" != "$(openssl x509 -in d1/device.crt -noout -pubkey)" ] || fail "same key as factory"
[ "$op_pub" = "$(openssl pkey -in d1.st/identity/operational.key -passin env:FWSEAL_PASSPHRASE -pubout)" ] ||
  fail "operational key and certificate differ"
first_serial=$(serial_of $OP)
device_json "$ID1"
[ "$(json_get dev.json d.status)" = active ] || fail "inventory: device not active"
ok

# The next pass keeps it, boots the update and confirms it; the install report, signed by the
# operational key, is accepted by the server over the operational connection.
agent_boot d1.slots
expect_exit 0 agent d1 --json
[ "$(json_get stdout d.est)" = kept ] || fail "second pass did not keep the certificate"
[ "$(json_get stdout d.outcome)" = confirmed ] || fail "not confirmed"
[ "$(serial_of $OP)" = "$first_serial" ] || fail "certificate changed without renewal"
[ -z "$(ls d1.st/reports)" ] || fail "the install report was not acknowledged"
srv_curl /metrics
expect_body '^fwseal_reports_total\{outcome="accepted"\} 1$'
expect_body '^fwseal_reports_total\{outcome="refused"\} 0$'

# A report queued under the factory identity (here while the device read a deployment
# directory, so it stayed queued) is re-signed with the operational key when the device
# enrolls, and the server, which checks reports against the connection's certificate, takes it.
agent_device d4.slots factory.img
expect_exit 1 "$FWSEAL_AGENT" --server "file://$D" --bundle d4 --state d4.st --slot-backend file \
  --slot-dir d4.slots --hardware hub-v9 --product hub --version 0.9.0 --once \
  --target hub/1.0.0/fw1.bin
[ "$(agent_reports d4.st verification-failure)" = 1 ] || fail "refusal not queued"
expect_exit 3 agent d4 --json
[ "$(json_get stdout d.est)" = enrolled ] || fail "d4 did not enroll"
[ -z "$(ls d4.st/reports)" ] || fail "the report queued before enrollment was not acknowledged"
srv_curl /metrics
expect_body '^fwseal_reports_total\{outcome="accepted"\} 2$'
expect_body '^fwseal_reports_total\{outcome="refused"\} 0$'

# ---- renewal at two thirds of the lifetime ----------------------------------------------------------
expect_exit 0 "$FWSEAL_AGENT" enroll --server "$SRV_URL" --bundle d1 --state d1.st --json
[ "$(json_get stdout d.action)" = kept ] || fail "enroll renewed too early"
renew_at=$(json_get stdout d.renewAt)
nb=$(date -u -d "$(openssl x509 -in $OP -noout -startdate | cut -d= -f2)" +%s)
na=$(date -u -d "$(openssl x509 -in $OP -noout -enddate | cut -d= -f2)" +%s)
[ "$(date -u -d "$renew_at" +%s)" = $((nb + (na - nb) * 2 / 3)) ] || fail "renewal is not at two thirds"
# Just before the renewal point nothing happens; at it the certificate is renewed.
before=$(date -u -d "@$(($(date -u -d "$renew_at" +%s) - 60))" +%Y-%m-%dT%H:%M:%SZ)
expect_exit 0 "$FWSEAL_AGENT" enroll --server "$SRV_URL" --bundle d1 --state d1.st \
  --now "$before" --json
[ "$(json_get stdout d.action)" = kept ] || fail "renewed before two thirds"
expect_exit 0 "$FWSEAL_AGENT" enroll --server "$SRV_URL" --bundle d1 --state d1.st \
  --now "$renew_at"
grep -q "^$ID1: renewed: operational certificate" stdout || fail "not renewed at two thirds"
second_serial=$(serial_of $OP)
[ "$second_serial" != "$first_serial" ] || fail "renewal kept the old certificate"
"$FWSEAL" device show --dir "$D" "$ID1" --json >certs.json
grep -q "$second_serial" certs.json || fail "inventory lacks the renewed certificate"
# The pass after the renewal presents the renewed certificate.
expect_exit 0 agent d1 --json
[ "$(json_get stdout d.identity)/$(json_get stdout d.est)" = operational/kept ] ||
  fail "pass after renewal"
ok

# A damaged identity (key and certificate that do not belong together, as a cut between the two
# renames would leave) makes the agent enroll again with the factory identity.
cp "$OP" saved.crt
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null \
  -subj /CN=other -days 1 -out $OP 2>/dev/null
expect_exit 0 agent d1 --json
[ "$(json_get stdout d.est)" = enrolled ] || fail "damaged identity not enrolled again"
[ "$(serial_of $OP)" != "$second_serial" ] || fail "new enrollment kept the old certificate"
ok

# ---- fwseal est enroll / reenroll against the same server ------------------------------------------
expect_exit 0 "$FWSEAL" est cacerts --server "$SRV_URL" --pin-file d2/server.pin --out ca2
grep -c 'BEGIN CERTIFICATE' ca2/cacerts.pem | grep -qx 2 || fail "est cacerts"
expect_exit 0 "$FWSEAL" est enroll --server "$SRV_URL" --cert d2/device.crt \
  --key d2/device.key --pin-file d2/server.pin --out op2 --json
[ "$(json_get stdout d.action)" = "est enroll" ] || fail "est enroll output"
openssl x509 -in op2/operational.crt -noout -ext subjectAltName | grep -q "urn:fwseal:device:$ID2" ||
  fail "est enroll: wrong device"
s1=$(serial_of op2/operational.crt)
expect_exit 0 "$FWSEAL" est reenroll --server "$SRV_URL" --cert op2/operational.crt \
  --key op2/operational.key --pin-file d2/server.pin --out op2
grep -q 'not due' stdout || fail "est reenroll renewed before two thirds"
expect_exit 0 "$FWSEAL" est reenroll --server "$SRV_URL" --cert op2/operational.crt \
  --key op2/operational.key --pin-file d2/server.pin --out op2 --force
[ "$(serial_of op2/operational.crt)" != "$s1" ] || fail "est reenroll --force"
# The factory identity cannot renew, and a wrong pin is refused before anything is sent.
expect_exit 2 "$FWSEAL" est reenroll --server "$SRV_URL" --cert d2/device.crt \
  --key d2/device.key --pin-file d2/server.pin --out op2x --force
expect_stderr 'factory|operational'
echo 'sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' >bad.pin
expect_exit 2 "$FWSEAL" est enroll --server "$SRV_URL" --cert d2/device.crt \
  --key d2/device.key --pin-file bad.pin --out op2y
[ ! -e op2y/operational.crt ] || fail "enrolled with a wrong pin"
ok

# ---- a revoked device is refused ---------------------------------------------------------------------
expect_exit 0 "$FWSEAL" device revoke --dir "$D" "$ID3" --reason keyCompromise
sleep 1.5 # the server watches the CRL every second
expect_exit 1 "$FWSEAL_AGENT" enroll --server "$SRV_URL" --bundle d3 --state d3.st
expect_stderr 'fwseal-agent: enroll: .*revoked'
[ ! -e d3.st/identity/operational.crt ] || fail "revoked device got a certificate"
expect_exit 2 "$FWSEAL" est enroll --server "$SRV_URL" --cert d3/device.crt \
  --key d3/device.key --pin-file d3/server.pin --out op3
expect_stderr 'revoked'
# The agent's pass says why it stays with the factory identity.
agent_device d3.slots factory.img
"$FWSEAL_AGENT" --server "$SRV_URL" --bundle d3 --state d3.st --slot-backend file \
  --slot-dir d3.slots --hardware hub-v2 --product hub --version 0.9.0 --once --json \
  --target hub/1.0.0/fw1.bin >stdout 2>stderr || true
grep -q 'fwseal-agent: EST: .*revoked.*going on with the factory identity' stderr ||
  { cat stderr >&2; fail "pass of a revoked device"; }
[ "$(json_get stdout d.est)/$(json_get stdout d.identity)" = failed/factory ] || fail "revoked: JSON"
# Device 1's operational identity is revoked with it: renewal is refused, enrollment too.
expect_exit 0 "$FWSEAL" device revoke --dir "$D" "$ID1" --reason cessationOfOperation
sleep 1.5
expect_exit 1 "$FWSEAL_AGENT" enroll --server "$SRV_URL" --bundle d1 --state d1.st --force
expect_stderr 'revoked'
ok

expect_exit 2 "$FWSEAL_AGENT" enroll --bundle d1 --state d1.st
expect_exit 0 "$FWSEAL_AGENT" enroll --help
srv_stop || fail "fwseal serve did not stop cleanly"
finish
