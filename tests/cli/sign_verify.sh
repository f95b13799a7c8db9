#!/usr/bin/env bash
# fwseal sign / fwseal verify through the command line, with bad input of every kind.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"

head -c 65536 /dev/urandom >fw.bin
for type in ed25519 p256; do
  expect_exit 0 "$FWSEAL" key gen --type $type --out $type.pem --pub $type.pub
  expect_exit 0 "$FWSEAL" sign --key $type.pem --out fw.$type.dsse.json fw.bin
  expect_exit 0 "$FWSEAL" verify --pub $type.pub --sig fw.$type.dsse.json fw.bin
  grep -q '^OK fw.bin' stdout || fail "verify did not say OK"
  expect_exit 0 "$FWSEAL" verify --json --pub $type.pub --sig fw.$type.dsse.json fw.bin
  [ "$(json_get stdout d.verified)" = true ] || fail "--json verified is not true"
  [ "$(json_get stdout d.sha256)" = "$(sha256sum fw.bin | cut -d' ' -f1)" ] || fail "sha256"
done

# The statement inside the envelope.
payload=$(json_get fw.ed25519.dsse.json d.payload)
echo "$payload" | base64 -d >statement.json
[ "$(json_get statement.json d._type)" = "https://in-toto.io/Statement/v1" ] || fail "_type"
[ "$(json_get statement.json 'd.subject[0].name')" = fw.bin ] || fail "subject name"
[ "$(json_get statement.json 'd.predicate.size')" = 65536 ] || fail "predicate size"

# Another key, a private key where a public one is expected, the wrong file.
expect_exit 1 "$FWSEAL" verify --pub p256.pub --sig fw.ed25519.dsse.json fw.bin
expect_stderr "signed by key [0-9a-f]{64}, not by the given key"
expect_exit 2 "$FWSEAL" verify --pub ed25519.pem --sig fw.ed25519.dsse.json fw.bin
expect_stderr "holds a private key"
head -c 65536 /dev/urandom >other.bin
expect_exit 1 "$FWSEAL" verify --pub ed25519.pub --sig fw.ed25519.dsse.json other.bin
expect_stderr "not a subject of the statement"
head -c 100 fw.bin >short.bin
expect_exit 1 "$FWSEAL" verify --pub ed25519.pub --sig fw.ed25519.dsse.json short.bin
expect_stderr "100 bytes, but 65536 were signed"

# 256 sampled single-bit flips of the image and of the envelope: every one rejected.
mkdir flips
node -e '
const fs = require("fs");
const img = fs.readFileSync("fw.bin"), env = fs.readFileSync("fw.p256.dsse.json");
for (let i = 0; i < 256; i++) {
  for (const [src, name, stride] of [[img, "img", 2039], [env, "env", 7919]]) {
    const b = Buffer.from(src), bit = (i * stride + 7) % (b.length * 8);
    b[bit >> 3] ^= 1 << (bit & 7);
    fs.writeFileSync(`flips/${name}.${i}`, b);
  }
}'
for i in $(seq 0 255); do
  expect_exit 1 "$FWSEAL" verify --pub ed25519.pub --sig fw.ed25519.dsse.json flips/img.$i
  rc=0; "$FWSEAL" verify --pub p256.pub --sig flips/env.$i fw.bin >/dev/null 2>&1 || rc=$?
  [ $rc -eq 1 ] || [ $rc -eq 2 ] || fail "envelope flip $i: exit $rc"
  ok
done

# Malformed envelopes: empty, truncated, extra field, duplicated field, not JSON, missing file.
: >empty.json
expect_exit 2 "$FWSEAL" verify --pub ed25519.pub --sig empty.json fw.bin
head -c 50 fw.ed25519.dsse.json >trunc.json
expect_exit 2 "$FWSEAL" verify --pub ed25519.pub --sig trunc.json fw.bin
node -e "const fs=require('fs');const d=JSON.parse(fs.readFileSync('fw.ed25519.dsse.json'));d.extra=1;fs.writeFileSync('extra.json',JSON.stringify(d))"
expect_exit 2 "$FWSEAL" verify --pub ed25519.pub --sig extra.json fw.bin
expect_stderr 'unknown field "extra"'
sed 's/"payloadType"/"payloadType": "x", "payloadType"/' fw.ed25519.dsse.json >dup.json
expect_exit 2 "$FWSEAL" verify --pub ed25519.pub --sig dup.json fw.bin
expect_stderr "duplicate"
expect_exit 2 "$FWSEAL" verify --pub ed25519.pub --sig missing.json fw.bin
expect_stderr "missing.json"
expect_exit 2 "$FWSEAL" verify --pub ed25519.pub --sig fw.ed25519.dsse.json missing.bin
expect_stderr "missing.bin"

# Oversized input: a 4 GiB sparse image is refused without reading it; --max-size applies.
truncate -s 4G big.bin
expect_exit 2 "$FWSEAL" sign --key ed25519.pem --out big.dsse.json big.bin
expect_stderr "over the"
[ ! -e big.dsse.json ] || fail "a partial envelope was left behind"
expect_exit 2 "$FWSEAL" sign --key ed25519.pem --max-size 1K --out fw2.dsse.json fw.bin
[ ! -e fw2.dsse.json ] || fail "an envelope was written for a refused image"

# Refuses to overwrite; wrong passphrase leaves nothing behind.
expect_exit 2 "$FWSEAL" sign --key ed25519.pem --out fw.ed25519.dsse.json fw.bin
expect_stderr "already exists"
FWSEAL_PASSPHRASE=wrong expect_exit 2 "$FWSEAL" sign --key ed25519.pem --out w.json fw.bin
expect_stderr "passphrase"
[ ! -e w.json ] || fail "output written with a wrong passphrase"
ls -a | grep -q '\.tmp\.' && fail "temporary file left behind"

# Usage errors.
expect_exit 2 "$FWSEAL" sign --out x.json fw.bin
expect_exit 2 "$FWSEAL" verify --pub ed25519.pub fw.bin
expect_exit 0 "$FWSEAL" sign --help
expect_exit 0 "$FWSEAL" verify --help
finish
