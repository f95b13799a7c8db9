#!/usr/bin/env bash
# fwseal provision --batch-file: all or nothing, the bad row named, a progress bar, one ledger
# record per device.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"
D=$TMP/deploy
expect_exit 0 "$FWSEAL" ca init --dir "$D" --env staging
expect_exit 0 "$FWSEAL" device model add --dir "$D" hub-v2 plug-3
expect_exit 0 "$FWSEAL" key gen --type ed25519 --out "$TMP/log.key"
expect_exit 0 "$FWSEAL" log init --dir "$D/ledger" --origin example.com/devices --key "$TMP/log.key"
VKEY=$(head -1 stdout)

mkdir csr
for i in $(seq 1 20); do
  openssl ecparam -name prime256v1 -genkey -noout -out csr/$i.key 2>/dev/null
  openssl req -new -key csr/$i.key -subj "/CN=unit-$i" -out csr/$i.csr 2>/dev/null
done
{
  echo "serial,model,batch,bom_version,station,operator,csr,hw:flash,hw:radio"
  for i in $(seq 1 20); do
    echo "SN-$i,hub-v2,LOT-9,2.1,st-1,\"bob, shift 2\",csr/$i.csr,pass,skip"
  done
} >good.csv

inventory_count() {
  "$FWSEAL" device list --dir "$D" --json >list.json
  json_get list.json d.count
}

# Each kind of bad row stops the whole file, names the row and provisions nothing.
bad() { # bad LINE_NUMBER REPLACEMENT REGEX
  awk -v n="$1" -v r="$2" 'NR==n{print r; next}{print}' good.csv >bad.csv
  expect_exit "$4" "$FWSEAL" provision --dir "$D" --env staging --batch-file bad.csv --out out
  expect_stderr "$3"
  [ "$(inventory_count)" = 0 ] || fail "a bad file provisioned devices"
  [ ! -e out ] || fail "a bad file wrote bundles"
}
bad 5 'SN-4,hub-v2,LOT-9,2.1,st-1,bob,csr/4.csr' 'row 5: 7 columns, the header has 9' 2
bad 6 'SN-5,hub-v2,LOT-9,2.1,st-1,"bob,csr/5.csr,pass,skip' 'row 6: unterminated quoted field' 2
bad 7 'SN-6,toaster,LOT-9,2.1,st-1,bob,csr/6.csr,pass,skip' "row 7: model 'toaster' is unknown" 2
bad 8 'SN-1,hub-v2,LOT-9,2.1,st-1,bob,csr/7.csr,pass,skip' 'row 8: serial SN-1 is repeated \(first on row 2\)' 2
bad 9 'SN-8,hub-v2,LOT-9,2.1,st-1,bob,csr/missing.csr,pass,skip' 'row 9: .*missing.csr' 2
bad 10 'SN-9,hub-v2,LOT-9,2.1,st-1,bob,csr/9.key,pass,skip' 'row 10: CSR: not a PKCS#10' 2
bad 11 'SN-10,hub-v2,LOT-9,2.1,st-1,bob,csr/10.csr,ok,skip' 'row 11: .*pass, fail or skip' 2
bad 12 'SN 11,hub-v2,LOT-9,2.1,st-1,bob,csr/11.csr,pass,skip' 'row 12: serial' 2
bad 1 'serial,model,lot,csr' 'row 1: header: unknown column' 2
bad 15 'SN-14,hub-v2,LOT-9,2.1,st-1,bob,csr/3.csr,pass,skip' 'row 15: the same key as row 4' 2
# A CSR whose signature does not verify.
openssl req -in csr/13.csr -outform DER -out csr/13.der
size=$(stat -c %s csr/13.der)
flip_bit csr/13.der $(( (size - 3) * 8 ))
bad 14 'SN-13,hub-v2,LOT-9,2.1,st-1,bob,csr/13.der,pass,skip' 'row 14: CSR: the signature does not verify' 1

# The good file: every device, its bundle, a progress bar.
expect_exit 0 "$FWSEAL" provision --dir "$D" --env staging --batch-file good.csv --out out --progress --json
[ "$(json_get stdout d.provisioned)" = 20 ] || fail "provisioned count"
grep -q "20/20 100%" stderr || fail "no progress bar"
[ "$(inventory_count)" = 20 ] || fail "inventory count"
for i in $(seq 1 20); do
  openssl verify -CAfile "$D/pki/staging/root.crt" -untrusted out/SN-$i/chain.pem out/SN-$i/device.crt \
    >/dev/null || fail "SN-$i does not verify"
  [ "$(openssl x509 -in out/SN-$i/device.crt -noout -pubkey)" = "$(openssl pkey -in csr/$i.key -pubout)" ] \
    || fail "SN-$i key"
done
ok
expect_exit 0 "$FWSEAL" device show --dir "$D" SN-7 --json
[ "$(json_get stdout d.operator)" = "bob, shift 2" ] || fail "quoted operator"
[ "$(json_get stdout d.batch)" = "LOT-9" ] || fail "batch"
[ "$(json_get stdout d.bom_version)" = "2.1" ] || fail "BOM version"
[ "$(json_get stdout d.hw_checks.radio)" = skip ] || fail "hw check"
expect_exit 0 "$FWSEAL" device list --dir "$D" --batch LOT-9 --json
[ "$(json_get stdout d.count)" = 20 ] || fail "list --batch"

# Already provisioned: refused as a whole, unless --reprovision (recorded as such).
expect_exit 2 "$FWSEAL" provision --dir "$D" --env staging --batch-file good.csv --out out2
expect_stderr "row 2: serial SN-1 is already provisioned"
head -3 good.csv >again.csv
expect_exit 0 "$FWSEAL" provision --dir "$D" --env staging --batch-file again.csv --out out2 --reprovision --json
[ "$(json_get stdout 'd.devices.filter(x=>x.reprovision).length')" = 2 ] || fail "reprovision flags"

# Ledger: 20 provisions then 2 reprovisions, each proven against the checkpoint.
"$FWSEAL" log get --dir "$D/ledger" --vkey "$VKEY" 0..21 >records.txt || fail "ledger entries do not prove"
[ "$(grep -c '"type":"provision"' records.txt)" = 22 ] || fail "provision records"
[ "$(grep -c '"reprovision":true' records.txt)" = 2 ] || fail "reprovision records"
grep -q '"operator":"bob, shift 2"' records.txt || fail "operator in the record"
finish
