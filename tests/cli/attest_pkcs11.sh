#!/usr/bin/env bash
# Attestation without a TPM, with the key in a PKCS#11 token: a P-256 key made inside a
# SoftHSM2 token signs the same evidence a TPM would, marked "software"; the verifier accepts it
# at that assurance, a policy that requires a TPM refuses it (deny), and a tampered log fails.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
module=/usr/lib/softhsm/libsofthsm2.so
[ -r "$module" ] || fail "SoftHSM2 is not installed ($module): run scripts/setup"
cd "$TMP"
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$TMP" >softhsm2.conf
export SOFTHSM2_CONF="$TMP/softhsm2.conf" FWSEAL_PKCS11_MODULE=$module
softhsm2-util --init-token --free --label attest --pin 1234 --so-pin 5678 >/dev/null
printf '1234\n' >pin.txt
key="pkcs11:token=attest;object=ak?pin-source=file:$TMP/pin.txt"
"$FWSEAL" key pkcs11-gen --key "$key" --type p256 --pub ak.pub >/dev/null || fail "pkcs11-gen"

# The device CA certifies the token's key for device dev-7 (no TCG AIK purpose: not a TPM).
printf '[inter]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' >ext.cnf
for k in root inter; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key 2>/dev/null; done
openssl req -x509 -new -key root.key -subj "/CN=root" -days 2 \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.crt 2>/dev/null
openssl req -new -key inter.key -subj "/CN=intermediate" -out inter.csr
openssl x509 -req -in inter.csr -CA root.crt -CAkey root.key -CAcreateserial -days 2 \
  -extfile ext.cnf -extensions inter -out inter.crt 2>/dev/null
openssl x509 -new -force_pubkey ak.pub -subj "/CN=dev-7" -CA inter.crt -CAkey inter.key \
  -CAcreateserial -days 2 -extfile ext.cnf -extensions leaf -out ak.crt 2>/dev/null

echo "boot 1" >boot.img
echo "app 1" >app.img
"$FWSEAL" attest measure --software --log boot.log --pcr 8 --stage boot --file boot.img >/dev/null
"$FWSEAL" attest measure --software --log boot.log --pcr 11 --stage app --file app.img >/dev/null
policy() { # minAssurance
  printf '{"format":"fwseal-attest-policy/v1","maxAgeSeconds":600,"minAssurance":"%s","stages":[{"name":"boot","pcr":8,"digests":["%s"]},{"name":"app","pcr":11,"digests":["%s"]}]}' \
    "$1" "$(sha256sum boot.img | cut -c1-64)" "$(sha256sum app.img | cut -c1-64)"
}
policy tpm >tpm.json
policy software >software.json
nonce=$("$FWSEAL" attest nonce)
expect_exit 0 "$FWSEAL" attest quote --key "$key" --reset-count 12 --log boot.log --pcrs 8,11 \
  --nonce "$nonce" --device dev-7 --cert ak.crt --chain inter.crt --out e.json
[ "$(json_get e.json d.assurance)" = software ] || fail "evidence not marked software"
[ "$(json_get e.json 'd.akChain.length')" = 1 ] || fail "the chain is not in the evidence"

expect_exit 0 "$FWSEAL" attest verify --evidence e.json --nonce "$nonce" --policy software.json \
  --ca root.crt --json
[ "$(json_get "$TMP/stdout" d.assurance)" = software ] || fail "assurance"
[ "$(json_get "$TMP/stdout" d.clock.resetCount)" = 12 ] || fail "counters"
[ "$(json_get "$TMP/stdout" d.decision.action)" = allow ] || fail "software policy"
expect_exit 0 "$FWSEAL" attest verify --evidence e.json --nonce "$nonce" --policy tpm.json \
  --ca root.crt --json
[ "$(json_get "$TMP/stdout" d.decision.action)" = deny ] || fail "a TPM policy must deny"

node -e '
const fs = require("fs"); const e = JSON.parse(fs.readFileSync("e.json"));
e.eventLog[1].digest = "00".repeat(32); fs.writeFileSync("bad.json", JSON.stringify(e));'
expect_exit 1 "$FWSEAL" attest verify --evidence bad.json --nonce "$nonce" \
  --policy software.json --ca root.crt
expect_stderr "does not replay to the value of PCR 11"
finish
