#!/usr/bin/env bash
# fwseal audit and fwseal audit export|verify through the command line, on a deployment made with
# the real commands: a clean audit (exit 0, --json, --html), planted problems (a release without
# an SBOM, an expiring certificate, a revoked device's certificate missing from a stale CRL, a
# forked ledger), bundles verified with the vkey only, refused when altered or truncated.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"
D=$TMP/deploy

expect_exit 0 "$FWSEAL" audit --help
grep -q "^usage: fwseal audit" stdout || fail "audit --help"
expect_exit 0 "$FWSEAL" audit export --help
expect_exit 0 "$FWSEAL" audit verify --help
expect_exit 2 "$FWSEAL" audit
expect_stderr "--dir DEPLOY is required"
expect_exit 2 "$FWSEAL" audit --dir "$TMP/nothing"

cat >sbom.json <<'EOF'
{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
 "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
 "components": [{"type": "firmware", "name": "hub", "version": "1.0.0"}]}
EOF
head -c 5000 /dev/urandom >fw1.bin
head -c 6000 /dev/urandom >fw2.bin
expect_exit 0 "$FWSEAL" init --dir "$D" --origin example.com/audit
VKEY=$(json_get "$D/ledger/log.json" d.vkey)
echo "$VKEY" >vkey
expect_exit 0 "$FWSEAL" release add --dir "$D" fw1.bin --product hub --version 1.0.0 \
  --hardware hub-v2 --security-counter 1 --sbom sbom.json
expect_exit 0 "$FWSEAL" ca init --dir "$D" --env dev
expect_exit 0 "$FWSEAL" device model add --dir "$D" hub-v2
for i in 1 2; do
  expect_exit 0 "$FWSEAL" provision --dir "$D" --env dev --serial SN-$i --model hub-v2 --batch L1 \
    --out b$i --json
  cp stdout p$i.json
done

# ---- clean ----
expect_exit 0 "$FWSEAL" audit --dir "$D" --vkey vkey --state state --json --html report.html
[ "$(json_get stdout d.clean)" = true ] || fail "clean deployment not clean"
[ "$(json_get stdout d.summary.red)" = 0 ] && [ "$(json_get stdout d.summary.warn)" = 0 ] || fail "findings on a clean deployment"
[ "$(json_get stdout d.statistics.releases)" = 1 ] || fail "releases"
[ "$(json_get stdout d.statistics.certificates)" = 2 ] || fail "certificates"
for p in ledger releases pki fleet total; do
  [ "$(json_get stdout "typeof d.phases.$p")" = number ] || fail "phase $p time"
done
grep -q "<svg" report.html || fail "html: no chart"
grep -q "<script" report.html && fail "html: scripts"
grep -Eq "(src|href)=\"(https?:)?//" report.html && fail "html: external resources"
expect_exit 0 "$FWSEAL" audit --dir "$D" --vkey vkey
grep -q "^clean: 0 red flags, 0 warnings" stdout || fail "text summary"

# ---- export and verify a bundle with the vkey only ----
expect_exit 0 "$FWSEAL" audit export --dir "$D" --out bundle.tar --json
[ "$(json_get stdout d.devices)" = 2 ] || fail "export: devices"
expect_exit 2 "$FWSEAL" audit export --dir "$D" --out bundle.tar
expect_stderr "exists"
tar tf bundle.tar >members || fail "GNU tar cannot read the bundle"
grep -q "^MANIFEST.json$" members && grep -q "^ledger/checkpoint$" members || fail "bundle members"
grep -q "^pki/dev/crl.pem$" members && grep -q "^attachments/" members || fail "bundle members"
mkdir elsewhere && cp bundle.tar vkey elsewhere/
(cd elsewhere && "$FWSEAL" audit verify bundle.tar --vkey vkey --json >out) || fail "bundle does not verify"
[ "$(json_get elsewhere/out d.treeSize)" = 3 ] || fail "verify: tree size"
expect_exit 0 "$FWSEAL" audit verify bundle.tar --vkey vkey --root "$D/repo/metadata/1.root.json"
expect_exit 1 "$FWSEAL" audit verify bundle.tar --vkey vkey --root "$D/repo/metadata/timestamp.json"
size=$(stat -c %s bundle.tar)
for off in 0 100 148 600 $((size / 3)) $((size / 2)) $((size - 1100)) $((size - 1)); do
  cp bundle.tar bad.tar
  flip_bit bad.tar $((off * 8 + 1))
  expect_exit 1 "$FWSEAL" audit verify bad.tar --vkey vkey
done
head -c $((size - 512)) bundle.tar >short.tar
expect_exit 1 "$FWSEAL" audit verify short.tar --vkey vkey
expect_exit 2 "$FWSEAL" audit verify bundle.tar
expect_stderr "--vkey is required"

# ---- planted problems ----
head -c 100 /dev/urandom >fw2.bin
expect_exit 0 "$FWSEAL" release add --dir "$D" fw2.bin --product hub --version 1.1.0 \
  --hardware hub-v2 --security-counter 1
expect_exit 0 "$FWSEAL" provision --dir "$D" --env dev --serial SN-3 --model hub-v2 --batch L1 \
  --validity-days 5 --out b3 --json
ID3=$(json_get stdout d.device)
expect_exit 1 "$FWSEAL" audit --dir "$D" --vkey vkey --state state --json
expect_stderr "red flags"
[ "$(json_get stdout 'd.findings.filter(f => f.check == "release-no-sbom" && f.subject == "hub/1.1.0").length')" = 1 ] || fail "release without SBOM not found"
[ "$(json_get stdout 'd.findings.filter(f => f.check == "release-no-provenance").length')" = 0 ] || fail "provenance"
[ "$(json_get stdout "d.findings.filter(f => f.check == 'cert-expiring' && f.subject == '$ID3').length")" = 1 ] || fail "expiring certificate not found"
[ "$(json_get stdout "d.checks['cert-expiring'].level")" = warn ] || fail "expiry is a warning"
expect_exit 1 "$FWSEAL" audit --dir "$D" --vkey vkey --expiry-days 3 --json
[ "$(json_get stdout "d.checks['cert-expiring'] === undefined")" = true ] || fail "--expiry-days"

# A device whose revocation never reached the CRL (an old CRL put back).
cp "$D/pki/dev/crl.pem" old-crl.pem
ID1=$(json_get p1.json d.device)
expect_exit 0 "$FWSEAL" device revoke --dir "$D" "$ID1" --reason keyCompromise
cp old-crl.pem "$D/pki/dev/crl.pem"
expect_exit 1 "$FWSEAL" audit --dir "$D" --vkey vkey --json
[ "$(json_get stdout "d.findings.filter(f => f.check == 'crl-missing-revocation' && f.subject == '$ID1').length")" = 1 ] || fail "revocation missing from the CRL not found"

# Another key for the ledger is a red flag on its own.
expect_exit 0 "$FWSEAL" key gen --type ed25519 --out other.key --pub other.pub
expect_exit 0 "$FWSEAL" log init --dir other --origin example.com/audit --key other.key
head -1 stdout >other.vkey
expect_exit 1 "$FWSEAL" audit --dir "$D" --vkey other.vkey --json
[ "$(json_get stdout 'd.findings.filter(f => f.check == "ledger-checkpoint").length')" = 1 ] || fail "another ledger key"

# ---- a forked ledger: same key, another history of the same length ----
n=$(sed -n 2p "$D/ledger/checkpoint")
key=$(json_get "$D/ledger/log.json" d.key)
mv "$D/ledger" ledger-real
expect_exit 0 "$FWSEAL" log init --dir "$D/ledger" --origin example.com/audit --key "$key"
for i in $(seq 1 "$n"); do
  echo "{\"type\":\"revoke\",\"schema\":1,\"time\":\"2026-01-01T00:00:00Z\",\"subject\":\"key\",\"id\":\"f$i\",\"reason\":\"x\"}"
done >fork.lines
expect_exit 0 "$FWSEAL" log append --dir "$D/ledger" --key "$key" --lines fork.lines
expect_exit 1 "$FWSEAL" audit --dir "$D" --vkey vkey --state state --json
[ "$(json_get stdout 'd.findings.filter(f => f.check == "ledger-fork").length')" = 1 ] || fail "fork not found"
rm -rf "$D/ledger" && mv ledger-real "$D/ledger"
finish
