#!/usr/bin/env bash
# Release keys in a PKCS#11 token: a SoftHSM2 token in a temporary directory, an Ed25519 and a
# P-256 key generated inside it (fwseal key pkcs11-gen), `fwseal sign --key pkcs11:...`, and
# `fwseal verify` with the public key exported from the token (fwseal key export-pub).
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
module=/usr/lib/softhsm/libsofthsm2.so
[ -r "$module" ] || fail "SoftHSM2 is not installed ($module): run scripts/setup"
# The commands this test drives (cmd_key_pkcs11.c, registered in cmd_key.c's table; cmd_sign.c
# loading --key through cli_load_signer): say plainly which one is not wired in.
"$FWSEAL" key --help | grep -q 'pkcs11-gen' ||
  fail "fwseal key has no pkcs11-gen/export-pub: register cmd_key_pkcs11_gen and cmd_key_export_pub in src/cli/cmd_key.c"
cd "$TMP"
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$TMP" >softhsm2.conf
export SOFTHSM2_CONF="$TMP/softhsm2.conf"
softhsm2-util --init-token --free --label fwseal-test --pin 1234 --so-pin 5678 >/dev/null
export FWSEAL_PKCS11_MODULE=$module
unset FWSEAL_PKCS11_PIN FWSEAL_PASSPHRASE
printf '1234\n' >pin.txt
head -c 100000 /dev/urandom >fw.bin

for type in ed25519 p256; do
  key="pkcs11:token=fwseal-test;object=release-$type"
  expect_exit 0 "$FWSEAL" key pkcs11-gen --key "$key?pin-source=file:$TMP/pin.txt" --type $type \
    --pub $type.pub --json
  keyid=$(json_get "$TMP/stdout" d.keyid)
  uri=$(json_get "$TMP/stdout" d.uri)
  case "$uri" in "pkcs11:token=fwseal-test;object=release-$type;id=%"*";type=private") ok ;;
    *) fail "pkcs11-gen printed the URI '$uri'" ;; esac
  [ "$(json_get "$TMP/stdout" d.type)" = $type ] || fail "pkcs11-gen made a key of another type"
  ok

  # the public key read back from the token is the one pkcs11-gen wrote
  expect_exit 0 "$FWSEAL" key export-pub --key "$key" --out $type.exported.pem
  cmp -s $type.pub $type.exported.pem || fail "export-pub differs from the generated public key"
  ok

  # sign with the token: the PIN from --passphrase-file (p256) or the environment (ed25519)
  if "$FWSEAL" sign --key "$key?pin-value=0" --out probe.json fw.bin 2>&1 | grep -q 'pkcs11:.*No such file'; then
    fail "fwseal sign reads --key pkcs11:... as a file: src/cli/cmd_sign.c must load it with cli_load_signer"
  fi
  if [ $type = p256 ]; then
    expect_exit 0 "$FWSEAL" sign --key "$uri" --passphrase-file pin.txt --out $type.dsse.json \
      fw.bin
  else
    FWSEAL_PKCS11_PIN=1234 expect_exit 0 "$FWSEAL" sign --key "$key" --out $type.dsse.json fw.bin
  fi
  [ "$(json_get $type.dsse.json 'd.signatures[0].keyid')" = "$keyid" ] ||
    fail "the envelope names another key than the token's"
  ok
  expect_exit 0 "$FWSEAL" verify --pub $type.pub --sig $type.dsse.json fw.bin
  cp fw.bin changed.bin
  flip_bit changed.bin 12345
  expect_exit 1 "$FWSEAL" verify --pub $type.pub --sig $type.dsse.json changed.bin
done

# a key made with one type does not verify envelopes made by the other
expect_exit 1 "$FWSEAL" verify --pub ed25519.pub --sig p256.dsse.json fw.bin

# wrong PIN, missing PIN, missing key, missing token: one clear line each, exit 2
expect_exit 2 "$FWSEAL" sign --key "pkcs11:token=fwseal-test;object=release-p256?pin-value=9999" \
  --out x.json fw.bin
expect_stderr 'token "fwseal-test": wrong user PIN'
expect_exit 2 "$FWSEAL" sign --key "pkcs11:token=fwseal-test;object=release-p256" --out x.json \
  fw.bin
expect_stderr 'no user PIN'
expect_exit 2 "$FWSEAL" sign --key "pkcs11:token=fwseal-test;object=nope?pin-value=1234" \
  --out x.json fw.bin
expect_stderr 'no private key with object=nope'
expect_exit 2 "$FWSEAL" key export-pub --key "pkcs11:token=other;object=x" --out x.pem
expect_stderr 'no token matches token=other'
[ ! -e x.json ] && [ ! -e x.pem ] || fail "a failed command left an output file"
ok

# generating over an existing key is refused
expect_exit 2 "$FWSEAL" key pkcs11-gen --key "pkcs11:token=fwseal-test;object=release-p256?pin-value=1234" \
  --type p256
expect_stderr 'exists already'
finish
