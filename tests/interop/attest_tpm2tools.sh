#!/usr/bin/env bash
# tpm2-tools (a peer we did not write) and fwseal judge each other's attestation structures, on a
# swtpm on loopback:
#  - tpm2_checkquote accepts the quotes fwseal's evidence carries (made by the TPM through
#    fwseal's AK, and written by fwseal itself for a software key), and refuses another nonce;
#    tpm2_print reads fwseal's TPMS_ATTEST and TPMT_PUBLIC;
#  - fwseal attest verify accepts a quote made entirely by tpm2-tools (tpm2_createak under the
#    EK, tpm2_pcrextend, tpm2_quote) at assurance "tpm", and refuses it for another nonce.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/swtpm.sh"
command -v tpm2_checkquote >/dev/null || fail "tpm2-tools is not installed: run scripts/setup"
trap 'swtpm_stop; cleanup' EXIT
cd "$TMP"
swtpm_start "$TMP/tpm" || fail "swtpm did not start"
export TPM2TOOLS_TCTI=$FWSEAL_TCTI
# No resource manager: flush what a tpm2-tools command leaves loaded.
flush() { tpm2_flushcontext -t >/dev/null 2>&1 || true; tpm2_flushcontext -s >/dev/null 2>&1 || true; }
b64() { node -e 'process.stdout.write(require("fs").readFileSync(process.argv[1]).toString("base64"))' "$1"; }
field() { # FILE FIELD OUT: writes a base64 field of an evidence document as bytes
  node -e 'const fs=require("fs");fs.writeFileSync(process.argv[3],Buffer.from(JSON.parse(fs.readFileSync(process.argv[1]))[process.argv[2]],"base64"))' "$1" "$2" "$3"
}

# A device CA (OpenSSL) for AK certificates.
printf '[inter]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n[ak]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=2.23.133.8.3\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' >ext.cnf
for k in root inter; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key 2>/dev/null; done
openssl req -x509 -new -key root.key -subj "/CN=root" -days 2 \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.crt 2>/dev/null
openssl req -new -key inter.key -subj "/CN=intermediate" -out inter.csr
openssl x509 -req -in inter.csr -CA root.crt -CAkey root.key -CAcreateserial -days 2 \
  -extfile ext.cnf -extensions inter -out inter.crt 2>/dev/null
certify() { # PUB.pem CN OUT.crt
  openssl x509 -new -force_pubkey "$1" -subj "/CN=$2" -CA inter.crt -CAkey inter.key \
    -CAcreateserial -days 2 -extfile ext.cnf -extensions ak -out "$3" 2>/dev/null
}
echo "application 1.0" >app.img
app=$(sha256sum app.img | cut -c1-64)
printf '{"format":"fwseal-attest-policy/v1","maxAgeSeconds":600,"minAssurance":"tpm","stages":[{"name":"app","pcr":11,"digests":["%s"]}]}' \
  "$app" >policy.json

# ---- fwseal's evidence, judged by tpm2-tools ---------------------------------------------------
"$FWSEAL" attest ak-create --pub ak.pem --public-out ak.tpmt >/dev/null
certify ak.pem dev-1 ak.crt
"$FWSEAL" attest measure --log boot.log --pcr 11 --stage app --file app.img >/dev/null
n=$("$FWSEAL" attest nonce)
"$FWSEAL" attest quote --log boot.log --pcrs 11 --nonce "$n" --device dev-1 --cert ak.crt \
  --out e.json
field e.json quote q.bin
field e.json signature q.sig
expect_exit 0 tpm2_checkquote -u ak.pem -m q.bin -s q.sig -q "$n" -g sha256
expect_exit 1 tpm2_checkquote -u ak.pem -m q.bin -s q.sig -q "$("$FWSEAL" attest nonce)" -g sha256
tpm2_print -t TPMS_ATTEST q.bin >attest.yaml || fail "tpm2_print TPMS_ATTEST"
grep -q "extraData: $n" attest.yaml || fail "tpm2_print sees another nonce"
grep -q "type: 8018" attest.yaml || fail "not a quote for tpm2_print"
tpm2_print -t TPMT_PUBLIC ak.tpmt >ak.yaml || fail "tpm2_print TPMT_PUBLIC"
grep -q "restricted" ak.yaml || fail "tpm2_print: the AK is not restricted"
ok
# the software attester's own TPMS_ATTEST and TPMT_SIGNATURE
"$FWSEAL" key gen --type p256 --out sw.key --pub sw.pub >/dev/null
certify sw.pub dev-2 sw.crt
"$FWSEAL" attest quote --key sw.key --log boot.log --pcrs 11 --nonce "$n" --device dev-2 \
  --cert sw.crt --out s.json
field s.json quote s.bin
field s.json signature s.sig
expect_exit 0 tpm2_checkquote -u sw.pub -m s.bin -s s.sig -q "$n" -g sha256
tpm2_print -t TPMS_ATTEST s.bin >s.yaml || fail "tpm2_print: software quote"
grep -q "extraData: $n" s.yaml || fail "tpm2_print sees another nonce in the software quote"
ok

# ---- a quote made by tpm2-tools, judged by fwseal -------------------------------------------------
swtpm_reboot
tpm2_createek -c ek.ctx -G ecc -u ek.pub >/dev/null || fail "tpm2_createek"
flush
tpm2_createak -C ek.ctx -c tak.ctx -G ecc -g sha256 -s ecdsa -u tak.pem -f pem -n tak.name \
  >/dev/null || fail "tpm2_createak"
flush
tpm2_readpublic -c tak.ctx -o tak.tss >/dev/null || fail "tpm2_readpublic"
flush
certify tak.pem dev-3 tak.crt
openssl x509 -in tak.crt -outform DER -out tak.der
tail -c +3 tak.tss >tak.tpmt # TPM2B_PUBLIC: drop the 16-bit size
tpm2_pcrextend "11:sha256=$app" || fail "tpm2_pcrextend"
n2=$("$FWSEAL" attest nonce)
tpm2_quote -c tak.ctx -l sha256:11 -q "$n2" -m t.msg -s t.sig -g sha256 >/dev/null || fail "tpm2_quote"
flush
tpm2_pcrread sha256:11 -o pcr11.bin >/dev/null || fail "tpm2_pcrread"
node -e '
const fs = require("fs"), [nonce, app] = process.argv.slice(1);
const b = (f) => fs.readFileSync(f).toString("base64");
fs.writeFileSync("t.json", JSON.stringify({
  format: "fwseal-attest-evidence/v1", device: "dev-3", assurance: "tpm",
  nonce: Buffer.from(nonce, "hex").toString("base64"), quote: b("t.msg"), signature: b("t.sig"),
  akPublic: b("tak.tpmt"), akCert: b("tak.der"), akChain: [], pcrBank: "sha256",
  pcrSelection: [11], pcrs: [{pcr: 11, digest: fs.readFileSync("pcr11.bin").toString("hex")}],
  eventLog: [{pcr: 11, stage: "app", digest: app}]}));' "$n2" "$app"
expect_exit 0 "$FWSEAL" attest verify --evidence t.json --nonce "$n2" --policy policy.json \
  --ca root.crt --intermediate inter.crt --device dev-3 --json
[ "$(json_get "$TMP/stdout" d.result)" = pass ] || fail "fwseal refused a tpm2-tools quote"
[ "$(json_get "$TMP/stdout" d.assurance)" = tpm ] || fail "assurance of a tpm2-tools AK"
[ "$(json_get "$TMP/stdout" d.akName)" = "$(od -An -tx1 tak.name | tr -d ' \n')" ] ||
  fail "fwseal computes another AK name than tpm2_createak"
expect_exit 1 "$FWSEAL" attest verify --evidence t.json --nonce "$n" --policy policy.json \
  --ca root.crt --intermediate inter.crt
expect_stderr "nonce is not the one issued"
finish
