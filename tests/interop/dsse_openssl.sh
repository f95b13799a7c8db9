#!/usr/bin/env bash
# A peer we did not write checks our signatures: the openssl command line verifies the
# signature in an envelope made by `fwseal sign` over the DSSE pre-authentication encoding.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"
head -c 10000 /dev/urandom >fw.bin
for type in ed25519 p256; do
  "$FWSEAL" key gen --type $type --out $type.pem --pub $type.pub >/dev/null
  "$FWSEAL" sign --key $type.pem --out env.json fw.bin --force >/dev/null
  json_get env.json d.payload | base64 -d >payload.bin
  json_get env.json 'd.signatures[0].sig' | base64 -d >sig.bin
  ptype=$(json_get env.json d.payloadType)
  printf 'DSSEv1 %d %s %d ' "${#ptype}" "$ptype" "$(stat -c %s payload.bin)" >pae.bin
  cat payload.bin >>pae.bin
  if [ $type = ed25519 ]; then
    openssl pkeyutl -verify -pubin -inkey $type.pub -rawin -in pae.bin -sigfile sig.bin \
      >out.txt 2>&1 || { cat out.txt; fail "openssl rejects our $type signature"; }
  else
    openssl dgst -sha256 -verify $type.pub -signature sig.bin pae.bin \
      >out.txt 2>&1 || { cat out.txt; fail "openssl rejects our $type signature"; }
  fi
  ok
  # And it rejects the same signature over a changed payload.
  printf 'X' >>pae.bin
  if [ $type = ed25519 ]; then
    ! openssl pkeyutl -verify -pubin -inkey $type.pub -rawin -in pae.bin -sigfile sig.bin \
      >/dev/null 2>&1 || fail "openssl accepted a changed payload"
  else
    ! openssl dgst -sha256 -verify $type.pub -signature sig.bin pae.bin >/dev/null 2>&1 ||
      fail "openssl accepted a changed payload"
  fi
  ok
  # The key ID fwseal prints is the SHA-256 of the public key's DER SubjectPublicKeyInfo.
  want=$(openssl pkey -pubin -in $type.pub -outform DER | sha256sum | cut -d' ' -f1)
  [ "$(json_get env.json 'd.signatures[0].keyid')" = "$want" ] || fail "key ID is not SHA-256(SPKI)"
  ok
done
finish
