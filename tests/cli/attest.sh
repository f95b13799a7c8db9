#!/usr/bin/env bash
# fwseal attest end to end with a real swtpm on loopback: the AK is created in the TPM and its
# certificate request (signed by the restricted AK through a TPM2_Hash ticket) is certified by
# an OpenSSL CA; releases are recorded in a ledger; the device measures its boot stages,
# quotes over the verifier's nonce, and the verifier judges the evidence. Then the failures:
# a replayed nonce, a wrong image (quarantine record appended to the ledger), an unexpected
# reboot, a software key (low assurance), usage errors; and verify-batch on recorded quotes.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/swtpm.sh"
trap 'swtpm_stop; cleanup' EXIT
cd "$TMP"
swtpm_start "$TMP/tpm" || fail "swtpm did not start"

# ---- a device CA (OpenSSL) -----------------------------------------------------------------
cat >ext.cnf <<'CNF'
[inter]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ak]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = 2.23.133.8.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[sw]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
genkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
genkey root.key
genkey inter.key
openssl req -x509 -new -key root.key -subj "/O=fwseal test/CN=device root" -days 30 \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out root.crt 2>/dev/null
openssl req -new -key inter.key -subj "/O=fwseal test/CN=device intermediate" -out inter.csr
openssl x509 -req -in inter.csr -CA root.crt -CAkey root.key -CAcreateserial -days 30 \
  -extfile ext.cnf -extensions inter -out inter.crt 2>/dev/null

# ---- the AK: made in the TPM, certified by the CA --------------------------------------------
expect_exit 0 "$FWSEAL" attest ak-create --csr ak.csr --cn dev-1 --public-out ak.tpmt \
  --pub ak.pem --json
name=$(json_get "$TMP/stdout" d.name)
[ "${#name}" = 68 ] && [ "${name:0:4}" = 000b ] || fail "AK name: $name"
# The same TPM derives the same key again.
expect_exit 0 "$FWSEAL" attest ak-create --json
[ "$(json_get "$TMP/stdout" d.name)" = "$name" ] || fail "the AK changed"
openssl req -in ak.csr -inform DER -verify -noout 2>/dev/null || fail "openssl rejects the AK CSR"
ok
openssl x509 -req -in ak.csr -inform DER -CA inter.crt -CAkey inter.key -CAcreateserial \
  -days 30 -extfile ext.cnf -extensions ak -out ak.crt 2>/dev/null || fail "AK certificate"
openssl pkey -pubin -in ak.pem -outform DER | cmp -s - <(openssl x509 -in ak.crt -noout -pubkey |
  openssl pkey -pubin -outform DER) || fail "the AK certificate is not for the AK"
ok

# ---- releases in the ledger ----------------------------------------------------------------------
for s in bootloader kernel rootfs app; do echo "$s image 1.0" >"$s.img"; done
echo "app image 2.0 (not released for hub-v2)" >other.img
sha() { sha256sum "$1" | cut -c1-64; }
"$FWSEAL" key gen --type ed25519 --out log.key >/dev/null
"$FWSEAL" log init --dir ledger --origin attest.test/log --key log.key >/dev/null
release() { # product version image models
  printf '{"type":"release","schema":1,"time":"2026-01-01T00:00:00Z","product":"%s","version":"%s","image":{"sha256":"%s","size":10},"hardware":%s,"securityCounter":1}' \
    "$1" "$2" "$(sha "$3")" "$4" | "$FWSEAL" log append --dir ledger - >/dev/null
}
release hub-kernel 1.0 kernel.img '["hub-v2"]'
release hub-rootfs 1.0 rootfs.img '["hub-v2"]'
release hub-app 1.0 app.img '["hub-v2"]'
release hub-app 2.0 other.img '["hub-v1"]'
cat >policy.json <<JSON
{"format": "fwseal-attest-policy/v1", "maxAgeSeconds": 3600, "minAssurance": "tpm",
 "unexpectedReboot": "flag",
 "stages": [{"name": "bootloader", "pcr": 8, "digests": ["$(sha bootloader.img)"]},
            {"name": "kernel", "pcr": 9, "ledgerProduct": "hub-kernel"},
            {"name": "rootfs", "pcr": 10, "ledgerProduct": "hub-rootfs"},
            {"name": "app", "pcr": 11, "ledgerProduct": "hub-app"}],
 "recovery": [{"product": "hub-app", "version": "0.9-recovery"}]}
JSON
verify() { "$FWSEAL" attest verify --policy policy.json --ledger ledger --model hub-v2 \
  --ca root.crt --intermediate inter.crt --device dev-1 "$@"; }

# ---- an honest device ----------------------------------------------------------------------------
boot() { # app image
  swtpm_reboot
  rm -f boot.log
  "$FWSEAL" attest measure --log boot.log --pcr 8 --stage bootloader --file bootloader.img >/dev/null
  "$FWSEAL" attest measure --log boot.log --pcr 9 --stage kernel --file kernel.img >/dev/null
  "$FWSEAL" attest measure --log boot.log --pcr 10 --stage rootfs --file rootfs.img >/dev/null
  "$FWSEAL" attest measure --log boot.log --pcr 11 --stage app --file "$1" >/dev/null
}
boot app.img
nonce=$("$FWSEAL" attest nonce)
expect_exit 0 "$FWSEAL" attest quote --log boot.log --nonce "$nonce" --device dev-1 \
  --cert ak.crt --out e1.json
expect_exit 0 verify --evidence e1.json --nonce "$nonce" --report r1.json --json
[ "$(json_get "$TMP/stdout" d.result)" = pass ] || fail "honest device did not pass"
[ "$(json_get "$TMP/stdout" d.assurance)" = tpm ] || fail "assurance"
[ "$(json_get "$TMP/stdout" d.decision.action)" = allow ] || fail "decision"
json_get "$TMP/stdout" 'd.stages[3].reference' | grep -q "hub-app/1.0" || fail "reference"
ok
expect_exit 0 verify --evidence e1.json --nonce "$nonce"
grep -q "^pass: device dev-1, assurance tpm" "$TMP/stdout" || fail "text output"
ok

# ---- the trust score and the decision from the stored report -----------------------------------------
printf '{"type":"provision","schema":1,"time":"2026-01-01T00:00:00Z","device":"dev-1","serial":"S1","model":"hub-v2","batch":"B1","environment":"prod","certificate":{"sha256":"%s"},"station":"s1"}' \
  "$(sha ak.crt)" >prov.json
expect_exit 0 "$FWSEAL" attest trust --report r1.json --policy policy.json --cert valid \
  --provision-record prov.json --history 3,0,0 --json
[ "$(json_get "$TMP/stdout" d.score)" = 97 ] || fail "trust score $(cat "$TMP/stdout")"
[ "$(json_get "$TMP/stdout" d.decision.action)" = allow ] || fail "trust decision"
[ "$(json_get "$TMP/stdout" 'd.factors.map(f => f.name).join()')" = \
  attestation,assurance,certificate,provisioning,batch,history ] || fail "factors"
expect_exit 0 "$FWSEAL" attest trust --report r1.json --policy policy.json --cert revoked \
  --batch-flagged --now $(( $(date +%s) + 7200 ))
grep -q "^trust score: 38/100" "$TMP/stdout" || fail "stale, revoked, flagged: $(cat "$TMP/stdout")"
grep -q "^decision: deny" "$TMP/stdout" || fail "a stale attestation must deny"
expect_exit 2 "$FWSEAL" attest trust --cert shiny

# ---- a replayed quote -----------------------------------------------------------------------------
expect_exit 1 verify --evidence e1.json --nonce "$("$FWSEAL" attest nonce)"
expect_stderr "^fwseal attest verify: attestation failed: the quote's nonce is not the one issued"
[ "$(wc -l <"$TMP/stderr")" = 1 ] || fail "more than one line on stderr"
ok

# ---- an unexpected reboot, then a wrong image -------------------------------------------------------
boot app.img
n2=$("$FWSEAL" attest nonce)
"$FWSEAL" attest quote --log boot.log --nonce "$n2" --device dev-1 --cert ak.crt --out e2.json
expect_exit 0 verify --evidence e2.json --nonce "$n2" --last r1.json --json
json_get "$TMP/stdout" 'd.flags[0]' | grep -q unexpected-reboot || fail "reboot not flagged"
expect_exit 0 verify --evidence e2.json --nonce "$n2" --last r1.json --reboot-expected --json
[ "$(json_get "$TMP/stdout" 'd.flags.length')" = 0 ] || fail "an ordered reboot was flagged"
expect_exit 1 verify --evidence e1.json --nonce "$nonce" --last r1.json --device dev-2
expect_stderr "names device dev-1, not the expected dev-2"

boot other.img
n3=$("$FWSEAL" attest nonce)
"$FWSEAL" attest quote --log boot.log --nonce "$n3" --device dev-1 --cert ak.crt --out e3.json
expect_exit 1 verify --evidence e3.json --nonce "$n3" --record q.json --json
[ "$(json_get "$TMP/stdout" d.decision.action)" = quarantine ] || fail "not quarantined"
json_get "$TMP/stdout" 'd.reasons[0]' | grep -q "stage app: digest" || fail "reason"
[ "$(json_get q.json d.type)" = quarantine ] || fail "quarantine record"
expect_exit 0 "$FWSEAL" log append --dir ledger q.json
ok

# ---- a tampered event log ---------------------------------------------------------------------------
node -e '
const fs = require("fs"); const e = JSON.parse(fs.readFileSync("e3.json"));
e.eventLog[3].digest = process.argv[1]; fs.writeFileSync("e4.json", JSON.stringify(e));' "$(sha app.img)"
expect_exit 1 verify --evidence e4.json --nonce "$n3"
expect_stderr "does not replay to the value of PCR 11"

# ---- a software key: same evidence, low assurance ----------------------------------------------------
"$FWSEAL" key gen --type p256 --out sw.key --pub sw.pub >/dev/null
openssl x509 -new -force_pubkey sw.pub -subj "/CN=dev-1" -CA inter.crt -CAkey inter.key \
  -CAcreateserial -days 30 -extfile ext.cnf -extensions sw -out sw.crt 2>/dev/null
rm -f sw.log
for s in bootloader kernel rootfs app; do
  pcr=$(case $s in bootloader) echo 8;; kernel) echo 9;; rootfs) echo 10;; app) echo 11;; esac)
  "$FWSEAL" attest measure --software --log sw.log --pcr "$pcr" --stage "$s" --file "$s.img" >/dev/null
done
n5=$("$FWSEAL" attest nonce)
expect_exit 0 "$FWSEAL" attest quote --key sw.key --reset-count 4 --log sw.log --nonce "$n5" \
  --device dev-1 --cert sw.crt --out e5.json
[ "$(json_get e5.json d.assurance)" = software ] || fail "software evidence"
expect_exit 0 verify --evidence e5.json --nonce "$n5" --json
[ "$(json_get "$TMP/stdout" d.assurance)" = software ] || fail "assurance"
[ "$(json_get "$TMP/stdout" d.decision.action)" = deny ] || fail "policy must refuse software keys"
json_get "$TMP/stdout" 'd.decision.reasons[0]' | grep -q "below the required tpm" || fail "reason"
ok

# ---- verify-batch on recorded quotes -----------------------------------------------------------------
boot app.img
expect_exit 0 "$FWSEAL" attest record --log boot.log --device dev-1 --cert ak.crt --count 20 \
  --out quotes.jsonl
expect_exit 0 "$FWSEAL" attest verify-batch --in quotes.jsonl --policy policy.json \
  --ledger ledger --model hub-v2 --ca root.crt --intermediate inter.crt --json
[ "$(json_get "$TMP/stdout" d.passed)" = 20 ] || fail "batch"
sed -i '5s/"nonce":"\(..\)/"nonce":"00/' quotes.jsonl
expect_exit 1 "$FWSEAL" attest verify-batch --in quotes.jsonl --policy policy.json \
  --ledger ledger --model hub-v2 --ca root.crt --intermediate inter.crt
expect_stderr "record 5: attestation failed"

# ---- usage and I/O errors -------------------------------------------------------------------------------
expect_exit 0 "$FWSEAL" attest --help
expect_exit 0 "$FWSEAL" attest verify --help
grep -q -- "--evidence" "$TMP/stdout" || fail "verify --help"
expect_exit 2 "$FWSEAL" attest verify --evidence e1.json
expect_exit 2 verify --evidence e1.json --nonce zz
expect_exit 2 verify --evidence missing.json --nonce "$nonce"
expect_exit 2 "$FWSEAL" attest verify --evidence e1.json --nonce "$nonce" --ca root.crt \
  --policy missing.json
expect_exit 2 "$FWSEAL" attest measure --log x.log --pcr 24 --stage a --digest 00
expect_exit 2 "$FWSEAL" attest quote --log boot.log --nonce "$nonce" --device dev-1
echo "{" >bad.json
expect_exit 1 verify --evidence bad.json --nonce "$nonce"
expect_stderr "^fwseal attest verify: attestation failed: evidence:"
finish
