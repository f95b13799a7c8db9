#!/usr/bin/env bash
# fwseal ca / provision / device: CA per environment, issuance from CSRs, bad input of every kind,
# reprovision, revocation, decommissioning, inventory, refusals and the ledger records.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"
D=$TMP/deploy

csr() { # csr NAME: a P-256 key and a CSR made by openssl req
  openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null
  openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
}

# ---- CA per environment ----
expect_exit 0 "$FWSEAL" ca init --dir "$D" --env dev
expect_exit 0 "$FWSEAL" ca init --dir "$D" --env prod --json
[ "$(json_get stdout d.env)" = prod ] || fail "ca init --json env"
expect_exit 2 "$FWSEAL" ca init --dir "$D" --env dev
expect_stderr "already has a CA"
expect_exit 2 "$FWSEAL" ca init --dir "$D" --env qa
expect_stderr "dev, staging or prod"
expect_exit 0 "$FWSEAL" ca init --help
for e in dev prod; do
  for f in ca.json root.crt root.key intermediate.crt intermediate.key crl.pem root-crl.pem; do
    [ -s "$D/pki/$e/$f" ] || fail "$e/$f missing"
  done
  grep -q "ENCRYPTED PRIVATE KEY" "$D/pki/$e/intermediate.key" || fail "$e key not encrypted"
done
# No key is shared between environments.
for f in root intermediate; do
  a=$(openssl x509 -in "$D/pki/dev/$f.crt" -noout -pubkey | sha256sum)
  b=$(openssl x509 -in "$D/pki/prod/$f.crt" -noout -pubkey | sha256sum)
  [ "$a" != "$b" ] || fail "$f key shared between dev and prod"
done
expect_exit 0 "$FWSEAL" ca export --dir "$D" --env prod --out export
for f in root.crt intermediate.crt crl.pem; do cmp -s "$D/pki/prod/$f" "export/$f" || fail "export $f"; done
expect_exit 2 "$FWSEAL" ca export --dir "$D" --env staging --out x
expect_stderr "no CA"

# ---- the ledger the events go to ----
expect_exit 0 "$FWSEAL" key gen --type ed25519 --out "$TMP/log.key" --pub "$TMP/log.pub"
expect_exit 0 "$FWSEAL" log init --dir "$D/ledger" --origin example.com/devices --key "$TMP/log.key"
VKEY=$(head -1 stdout)

# ---- models ----
expect_exit 0 "$FWSEAL" device model add --dir "$D" hub-v2 sensor-1
expect_exit 0 "$FWSEAL" device model list --dir "$D" --json
[ "$(json_get stdout 'd.models.join(",")')" = "hub-v2,sensor-1" ] || fail "model list"
expect_exit 2 "$FWSEAL" device model add --dir "$D" "bad model"

# ---- one device from a CSR ----
csr d1
expect_exit 0 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0001 --model hub-v2 --batch LOT7 \
  --bom-version 1.4.2 --station st-3 --operator alice --hw flash=pass --hw radio=skip \
  --csr d1.csr --out b1 --json
ID1=$(json_get stdout d.device)
[ "${#ID1}" = 32 ] || fail "device id"
[ "$(json_get stdout d.ledger_index)" = 0 ] || fail "ledger index"
[ -s b1/device.crt ] && [ -s b1/chain.pem ] && [ -s b1/ledger.vkey ] || fail "bundle files"
[ ! -e b1/device.key ] || fail "device.key written for a CSR device"
[ "$(cat b1/ledger.vkey)" = "$VKEY" ] || fail "ledger.vkey in the bundle"
[ "$(json_get stdout 'd.anchors["root.json"]')" = false ] || fail "root.json should be reported missing"
openssl x509 -in b1/device.crt -noout -subject | grep -q "serialNumber = SN-0001" || fail "subject serial"
openssl x509 -in b1/device.crt -noout -ext subjectAltName | grep -q "URI:urn:fwseal:device:$ID1" || fail "SAN"
openssl x509 -in b1/device.crt -noout -ext extendedKeyUsage | grep -q "Client Authentication" || fail "EKU"
openssl x509 -in b1/device.crt -noout -ext keyUsage | grep -q "Digital Signature" || fail "KU"
# The certificate holds the CSR's key: the private key never went to the CA.
[ "$(openssl x509 -in b1/device.crt -noout -pubkey)" = "$(openssl pkey -in d1.key -pubout)" ] || fail "key"
# The factory identity lasts 20 years.
end=$(date -d "$(openssl x509 -in b1/device.crt -noout -enddate | cut -d= -f2)" +%s)
[ $(( (end - $(date +%s)) / 86400 )) -ge 7299 ] || fail "factory validity"
# Trust anchors present in the deployment are copied.
mkdir -p "$D/repo/metadata" "$D/server"
echo '{"signed":{"_type":"root"},"signatures":[]}' >"$D/repo/metadata/root.json"
echo "sha256/AAAA" >"$D/server/pin"
mkdir -p "$D/keys"
openssl pkey -in d1.key -pubout -out "$D/keys/assignment.pub"

# ---- bad input ----
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0001 --model hub-v2 --batch LOT7 --csr d1.csr --out bx
expect_stderr "SN-0001 is already provisioned"
csr d2
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0002 --model hub-v9 --batch LOT7 --csr d2.csr --out bx
expect_stderr "model 'hub-v9' is unknown"
# A CSR whose signature does not verify: one bit of the signature flipped.
openssl req -in d2.csr -outform DER -out d2.der
size=$(stat -c %s d2.der)
cp d2.der bad.der; flip_bit bad.der $(( (size - 3) * 8 ))
expect_exit 1 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0002 --model hub-v2 --batch LOT7 --csr bad.der --out bx
expect_stderr "does not verify"
# A key type we do not issue for: RSA, and P-384.
openssl req -new -newkey rsa:2048 -nodes -keyout rsa.key -subj /CN=r -out rsa.csr 2>/dev/null
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0002 --model hub-v2 --batch LOT7 --csr rsa.csr --out bx
expect_stderr "P-256 keys only"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -keyout p384.key -subj /CN=r -out p384.csr 2>/dev/null
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0002 --model hub-v2 --batch LOT7 --csr p384.csr --out bx
expect_stderr "secp384r1"
echo "not a csr" >junk.csr
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0002 --model hub-v2 --batch LOT7 --csr junk.csr --out bx
expect_stderr "not a PKCS#10"
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial "SN 2" --model hub-v2 --batch LOT7 --csr d2.csr --out bx
expect_stderr "serial"
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0002 --model hub-v2 --batch LOT7 --hw flash=maybe --csr d2.csr --out bx
expect_stderr "pass, fail or skip"
expect_exit 2 "$FWSEAL" provision --dir "$D" --env staging --serial SN-0002 --model hub-v2 --batch LOT7 --csr d2.csr --out bx
expect_stderr "no CA"
# Keys made into files are for development devices only.
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0002 --model hub-v2 --batch LOT7 --out bx
expect_stderr "development devices only"
[ ! -e bx ] || fail "a refused request wrote a bundle"
# Unique key material for every unit: another device's key is refused.
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0009 --model hub-v2 --batch LOT7 --csr d1.csr --out bx
expect_stderr "already belongs to device $ID1"
# Every refusal is in the refusal log.
expect_exit 0 "$FWSEAL" device refusals --dir "$D" --json
[ "$(json_get stdout 'd.refusals.length')" -ge 8 ] || fail "refusals recorded"
json_get stdout 'd.refusals.map(r=>r.reason).join("\n")' | grep -q "does not verify" || fail "refusal reason"

# ---- a development device with a key made on the bench ----
expect_exit 0 "$FWSEAL" provision --dir "$D" --env dev --serial DEV-1 --model sensor-1 --batch L0 --out bdev --json
[ "$(json_get stdout 'd.anchors["device.key"]')" = true ] || fail "dev device.key"
grep -q "ENCRYPTED PRIVATE KEY" bdev/device.key || fail "device.key not encrypted"
[ -s bdev/root.json ] && [ -s bdev/server.pin ] && [ -s bdev/assignment.pub ] || fail "anchors not copied"
cmp -s bdev/assignment.pub "$D/keys/assignment.pub" || fail "assignment.pub differs"
[ "$(openssl x509 -in bdev/device.crt -noout -pubkey)" = \
  "$(openssl pkey -in bdev/device.key -passin env:FWSEAL_PASSPHRASE -pubout)" ] || fail "dev key"

# ---- reprovision, revoke, decommission ----
expect_exit 0 "$FWSEAL" device show --dir "$D" SN-0001 --json
[ "$(json_get stdout 'd.hw_checks.flash')" = pass ] || fail "hw checks in the inventory"
[ "$(json_get stdout 'd.operator')" = alice ] || fail "operator in the inventory"
[ "$(json_get stdout 'd.expires.slice(0,4)')" -ge $(( $(date +%Y) + 19 )) ] || fail "expiry in the inventory"
cp b1/device.crt old.crt
expect_exit 0 "$FWSEAL" provision --dir "$D" --env prod --serial SN-0001 --model hub-v2 --batch LOT7 --csr d2.csr --out b1 --reprovision --json
[ "$(json_get stdout d.device)" = "$ID1" ] || fail "reprovision keeps the device ID"
[ "$(json_get stdout d.reprovision)" = true ] || fail "reprovision flag"
expect_exit 0 "$FWSEAL" device show --dir "$D" SN-0001 --json
[ "$(json_get stdout d.reprovisions)" = 1 ] || fail "reprovision count"
[ "$(json_get stdout 'd.certificates.length')" = 2 ] || fail "two certificates"
[ "$(json_get stdout 'd.certificates[1].status')" = revoked ] || fail "old certificate revoked"
[ "$(json_get stdout 'd.certificates[1].reason')" = superseded ] || fail "old certificate reason"
openssl crl -in "$D/pki/prod/crl.pem" -noout -text | grep -qi "$(openssl x509 -in old.crt -noout -serial | cut -d= -f2)" \
  || fail "old certificate not on the CRL"

expect_exit 0 "$FWSEAL" device revoke --dir "$D" "$ID1" --reason key-compromise --json
REV=$(json_get stdout d.ledger_index)
expect_exit 2 "$FWSEAL" device revoke --dir "$D" "$ID1" --reason keyCompromise
expect_stderr "already revoked"
expect_exit 2 "$FWSEAL" device revoke --dir "$D" SN-0404 --reason keyCompromise
expect_stderr "no device"
expect_exit 2 "$FWSEAL" device revoke --dir "$D" DEV-1 --reason sunspots
expect_stderr "reason"
expect_exit 0 "$FWSEAL" device decommission --dir "$D" DEV-1
expect_exit 2 "$FWSEAL" provision --dir "$D" --env dev --serial DEV-1 --model sensor-1 --batch L0 --out bdev2 --reprovision
expect_stderr "decommissioned"

# ---- inventory ----
expect_exit 0 "$FWSEAL" device list --dir "$D" --json
[ "$(json_get stdout d.count)" = 2 ] || fail "list count"
expect_exit 0 "$FWSEAL" device list --dir "$D" --status revoked --json
[ "$(json_get stdout 'd.devices[0].serial')" = SN-0001 ] || fail "list --status"
expect_exit 0 "$FWSEAL" device list --dir "$D" --env dev --json
[ "$(json_get stdout 'd.devices[0].status')" = decommissioned ] || fail "list --env"
expect_exit 0 "$FWSEAL" device show --dir "$D" DEV-1
grep -q "decommissioned" stdout || fail "show status"
grep -Eq "^ +expires +-$" stdout || fail "a decommissioned device has no valid certificate"
expect_exit 0 "$FWSEAL" device list --dir "$D"
grep -q "EXPIRES" stdout || fail "list header"

# ---- the ledger: every provision, reprovision, revoke and decommission, each proven ----
expect_exit 0 "$FWSEAL" log search --dir "$D/ledger" --device "$ID1" --json
for i in 0 1 2 3 4; do
  expect_exit 0 "$FWSEAL" log get --dir "$D/ledger" --vkey "$VKEY" $i
done
"$FWSEAL" log get --dir "$D/ledger" --vkey "$VKEY" 0..4 >records.txt
[ "$(grep -c '"type":"provision"' records.txt)" = 3 ] || fail "provision records"
grep -q '"reprovision":true' records.txt || fail "reprovision record"
grep -q "\"id\":\"$ID1\".*\"type\":\"revoke\"" records.txt || fail "revoke record"
grep -q '"type":"decommission"' records.txt || fail "decommission record"
grep -q '"checks":{"flash":"pass","radio":"skip"}' records.txt || fail "checks in the record"
[ "$REV" = 3 ] || fail "revoke ledger index $REV"
# Each as an offline tlog-proof an auditor can check with nothing but the log's vkey.
for i in 0 2 3 4; do
  expect_exit 0 "$FWSEAL" log prove --dir "$D/ledger" --index $i --out proof$i --entry-out entry$i
  expect_exit 0 "$FWSEAL" log verify-proof --vkey "$VKEY" --proof proof$i entry$i
done
grep -q '"reprovision":true' entry2 || fail "proof 2 is not the reprovision"
grep -q '"type":"revoke"' entry3 || fail "proof 3 is not the revoke"
# A record changed by one byte is not in the log.
sed 's/"serial":"SN-0001"/"serial":"SN-0002"/' entry0 >forged
expect_exit 1 "$FWSEAL" log verify-proof --vkey "$VKEY" --proof proof0 forged
finish
