#!/usr/bin/env bash
# Device keys in a PKCS#11 token (a real SoftHSM2 token in a temporary directory): a key
# generated on the bench into the token (--generate-pkcs11), and a CSR made from a token key by a
# PKCS#11 tool we did not write (GnuTLS certtool, when installed). Both are issued certificates
# for the token's key, and openssl verifies them.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"
command -v softhsm2-util >/dev/null || fail "softhsm2-util is missing (scripts/setup installs softhsm2)"
MODULE=
for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so; do
  [ -f "$m" ] && MODULE=$m && break
done
[ -n "$MODULE" ] || fail "libsofthsm2.so not found"
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP" >softhsm2.conf
export SOFTHSM2_CONF=$TMP/softhsm2.conf
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 5678 >/dev/null || fail "init token"

D=$TMP/deploy
expect_exit 0 "$FWSEAL" ca init --dir "$D" --env prod
expect_exit 0 "$FWSEAL" device model add --dir "$D" hub-v2
URI="pkcs11:token=bench;object=unit-1?module-path=$MODULE&pin-value=1234"

# A key generated into the token on the bench; the CSR is signed inside the token.
expect_exit 0 "$FWSEAL" provision --dir "$D" --env prod --serial P11-1 --model hub-v2 --batch B \
  --generate-pkcs11 "$URI" --out b1 --no-ledger --json
[ "$(json_get stdout 'd.anchors["device.key"]')" = false ] || fail "a token key was written to a file"
openssl verify -CAfile "$D/pki/prod/root.crt" -untrusted b1/chain.pem b1/device.crt >/dev/null \
  || fail "openssl rejects the token device's certificate"
expect_exit 0 "$FWSEAL" device show --dir "$D" P11-1 --json
[ "$(json_get stdout d.key_origin)" = pkcs11 ] || fail "key origin"
# The label is taken now: a second generation under it is refused.
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial P11-2 --model hub-v2 --batch B \
  --generate-pkcs11 "$URI" --out b2 --no-ledger
expect_stderr 'labelled "unit-1" exists already'
# A wrong PIN, an unknown token, a URI without an object.
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial P11-2 --model hub-v2 --batch B \
  --generate-pkcs11 "pkcs11:token=bench;object=unit-2?module-path=$MODULE&pin-value=0000" --out b2 --no-ledger
expect_stderr "wrong user PIN"
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial P11-2 --model hub-v2 --batch B \
  --generate-pkcs11 "pkcs11:token=nope;object=unit-2?module-path=$MODULE&pin-value=1234" --out b2 --no-ledger
expect_stderr "no token matches token=nope"
expect_exit 2 "$FWSEAL" provision --dir "$D" --env prod --serial P11-2 --model hub-v2 --batch B \
  --generate-pkcs11 "pkcs11:token=bench?pin-value=1234" --out b2 --no-ledger
expect_stderr "name the new key with object= or id="
# The PIN from a file (pin-source).
echo 1234 >pin.txt
expect_exit 0 "$FWSEAL" provision --dir "$D" --env prod --serial P11-3 --model hub-v2 --batch B \
  --generate-pkcs11 "pkcs11:token=bench;object=unit-3?module-path=$MODULE&pin-source=file:$TMP/pin.txt" \
  --out b3 --no-ledger
openssl verify -CAfile "$D/pki/prod/root.crt" -untrusted b3/chain.pem b3/device.crt >/dev/null || fail "b3"

# CA keys in a token: generated there, never written to files, found again through ca.json.
softhsm2-util --init-token --free --label ca --pin 4321 --so-pin 8765 >/dev/null || fail "init ca token"
D2=$TMP/deploy2
expect_exit 0 "$FWSEAL" ca init --dir "$D2" --env staging \
  --pkcs11 "pkcs11:token=ca;object=fwseal?module-path=$MODULE&pin-value=4321"
[ ! -e "$D2/pki/staging/intermediate.key" ] && [ ! -e "$D2/pki/staging/root.key" ] || fail "CA key files written"
grep -q "pkcs11:token=ca;object=fwseal-staging-intermediate" "$D2/pki/staging/ca.json" || fail "ca.json key URI"
! grep -q "pin-value" "$D2/pki/staging/ca.json" || fail "the PIN was stored"
openssl verify -CAfile "$D2/pki/staging/root.crt" "$D2/pki/staging/intermediate.crt" >/dev/null || fail "token CA chain"
expect_exit 0 "$FWSEAL" device model add --dir "$D2" hub-v2
openssl ecparam -name prime256v1 -genkey -noout -out s1.key 2>/dev/null
openssl req -new -key s1.key -subj /CN=s1 -out s1.csr
expect_exit 2 "$FWSEAL" provision --dir "$D2" --env staging --serial ST-1 --model hub-v2 --batch B --csr s1.csr --out s1 --no-ledger
expect_stderr "no user PIN"
FWSEAL_PKCS11_PIN=4321 expect_exit 0 "$FWSEAL" provision --dir "$D2" --env staging --serial ST-1 --model hub-v2 \
  --batch B --csr s1.csr --out s1 --no-ledger
openssl verify -CAfile "$D2/pki/staging/root.crt" -untrusted s1/chain.pem s1/device.crt >/dev/null || fail "s1"
FWSEAL_PKCS11_PIN=4321 expect_exit 0 "$FWSEAL" device revoke --dir "$D2" ST-1 --reason keyCompromise --no-ledger
openssl crl -in "$D2/pki/staging/crl.pem" -CAfile "$D2/pki/staging/intermediate.crt" -noout 2>&1 | grep -q "verify OK" \
  || fail "CRL signed in the token does not verify"
if openssl verify -crl_check -CRLfile "$D2/pki/staging/crl.pem" -CAfile "$D2/pki/staging/root.crt" \
  -untrusted s1/chain.pem s1/device.crt >/dev/null 2>&1; then fail "revoked s1 accepted"; fi
ok

# A CSR made from a token key by GnuTLS's PKCS#11 tools.
if command -v p11tool >/dev/null && command -v certtool >/dev/null; then
  TOKEN_URL="pkcs11:token=bench"
  GNUTLS_PIN=1234 p11tool --provider "$MODULE" --login --generate-privkey ECDSA --curve secp256r1 \
    --label gnutls-1 "$TOKEN_URL" >/dev/null 2>&1 || fail "p11tool could not generate a key"
  KEY_URL="pkcs11:token=bench;object=gnutls-1;type=private"
  cat >req.tmpl <<'T'
cn = "gnutls device"
T
  GNUTLS_PIN=1234 certtool --provider "$MODULE" --generate-request --load-privkey "$KEY_URL" \
    --load-pubkey "pkcs11:token=bench;object=gnutls-1;type=public" --template req.tmpl \
    --outfile gnutls.csr >/dev/null 2>&1 || fail "certtool could not make the CSR"
  expect_exit 0 "$FWSEAL" provision --dir "$D" --env prod --serial GT-1 --model hub-v2 --batch B \
    --csr gnutls.csr --out g1 --no-ledger
  openssl verify -CAfile "$D/pki/prod/root.crt" -untrusted g1/chain.pem g1/device.crt >/dev/null || fail "g1"
  [ "$(openssl x509 -in g1/device.crt -noout -pubkey)" = "$(openssl req -in gnutls.csr -noout -pubkey)" ] \
    || fail "the certificate does not hold the token key"
  ok
else
  echo "SKIPPED: GnuTLS p11tool/certtool are not installed (package gnutls-bin): the CSR made by a" \
       "third-party PKCS#11 tool was not checked; fwseal's own token path was."
fi
finish
