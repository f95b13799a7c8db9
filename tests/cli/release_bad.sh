#!/usr/bin/env bash
# fwseal release add with bad input of every kind the issue lists: each gives one clear line on
# stderr and a non-zero exit, and the deployment (repository, index, config, ledger) stays
# byte-for-byte as it was.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"

# A digest of every name and byte under a directory.
tree_hash() {
  (
    cd "$1"
    find . | LC_ALL=C sort
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  ) | sha256sum | cut -d' ' -f1
}

# refused CODE REGEX ARGS...: `fwseal release add --dir d ARGS` fails so, changing nothing.
refused() {
  local code=$1 re=$2 before
  shift 2
  before=$(tree_hash d)
  expect_exit "$code" "$FWSEAL" release add --dir d "$@"
  expect_stderr "$re"
  [ "$(wc -l <"$TMP/stderr")" = 1 ] || { cat "$TMP/stderr" >&2; fail "more than one line"; }
  [ "$(tree_hash d)" = "$before" ] || fail "the deployment changed after a refused release: $*"
  ok
}

expect_exit 0 "$FWSEAL" init --dir d --origin example.com/hub
head -c 20000 /dev/urandom >fw.bin
expect_exit 0 "$FWSEAL" release add --dir d fw.bin --product hub --version 1.0 --hardware hub-v2 \
  --security-counter 5
head -c 20000 /dev/urandom >new.bin
ARGS=(--product hub --hardware hub-v2)

# An SBOM that is not valid CycloneDX 1.6: against the official schema, not only its header.
cat >gadget.cdx.json <<'EOF'
{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
 "components": [{"type": "gadget", "name": "x"}]}
EOF
refused 2 'not a valid CycloneDX 1.6 SBOM: .*/components/0/type' new.bin "${ARGS[@]}" \
  --version 1.1 --security-counter 5 --sbom gadget.cdx.json
echo '{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT"}' >spdx.json
refused 2 'not a valid CycloneDX 1.6 SBOM' new.bin "${ARGS[@]}" --version 1.1 \
  --security-counter 5 --sbom spdx.json
echo '{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1}' >old.cdx.json
refused 2 'not a valid CycloneDX 1.6 SBOM' new.bin "${ARGS[@]}" --version 1.1 \
  --security-counter 5 --sbom old.cdx.json

# A duplicate version; a security counter lower than the product's last.
refused 2 'hub 1.0 was already released' new.bin "${ARGS[@]}" --version 1.0 --security-counter 5
refused 1 'security counter 4 is lower than 5, the highest released for hub' new.bin "${ARGS[@]}" \
  --version 1.1 --security-counter 4

# Target names with "..", a leading '/', or characters outside the allowed set.
refused 2 'version "1..1" contains ".."' new.bin "${ARGS[@]}" --version 1..1 --security-counter 5
refused 2 'product "../hub" contains ".."' new.bin --product ../hub --hardware h --version 1.1 \
  --security-counter 5
refused 2 'product "/hub": only letters' new.bin --product /hub --hardware h --version 1.1 \
  --security-counter 5
cp new.bin 'new..bin'
refused 2 'image file name "new..bin" contains ".."' 'new..bin' "${ARGS[@]}" --version 1.1 \
  --security-counter 5
cp new.bin 'new\bin'
refused 2 'only letters, digits' 'new\bin' "${ARGS[@]}" --version 1.1 --security-counter 5

# A provenance about another image; a file that is not an envelope; a missing image.
expect_exit 0 "$FWSEAL" key gen --type ed25519 --out ci.pem --pub ci.pub
expect_exit 0 "$FWSEAL" sign --key ci.pem --out other.dsse.json fw.bin
refused 1 'the image.s SHA-256 is not a subject of the statement' new.bin "${ARGS[@]}" \
  --version 1.1 --security-counter 5 --provenance other.dsse.json
refused 2 'not a DSSE envelope' new.bin "${ARGS[@]}" --version 1.1 --security-counter 5 \
  --provenance spdx.json
refused 2 'missing.bin' missing.bin "${ARGS[@]}" --version 1.1 --security-counter 5

# An image that changes between hashing and publishing: a named pipe gives other bytes (of the
# same length) the second time it is opened. The writer waits for the first reader to close the
# pipe (a non-blocking open for writing fails with ENXIO when nobody reads) before it offers the
# second image, so the two never run together in one read.
mkfifo img.fifo
head -c 20000 /dev/urandom >b.bin
node -e '
const fs = require("fs");
const [fifo, a, b] = process.argv.slice(1);
const offer = (file) => {
  const fd = fs.openSync(fifo, "w");
  fs.writeSync(fd, fs.readFileSync(file));
  fs.closeSync(fd);
};
const nap = new Int32Array(new SharedArrayBuffer(4));
offer(a);
for (let i = 0; ; i++) {
  try {
    fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
  } catch (e) {
    if (e.code === "ENXIO") break;
    throw e;
  }
  if (i > 60000) process.exit(1);
  Atomics.wait(nap, 0, 0, 5);
}
offer(b);' img.fifo new.bin b.bin &
writer=$!
refused 1 'changed between hashing and publishing.*nothing was published' img.fifo "${ARGS[@]}" \
  --version 1.1 --security-counter 5
if kill -0 "$writer" 2>/dev/null; then cat img.fifo >/dev/null; fi
wait "$writer"

# A failure in the middle of publishing (a directory stands where the next snapshot goes): the
# ledger has the record, but the repository is as it was and still serves snapshot 2.
mkdir d/repo/metadata/3.snapshot.json
before=$(tree_hash d/repo)
expect_exit 2 "$FWSEAL" release add --dir d new.bin "${ARGS[@]}" --version 1.1 \
  --security-counter 5
expect_stderr 'ledger record 1 was appended, but publishing failed'
[ "$(tree_hash d/repo)" = "$before" ] || fail "a failed publication changed the repository"
[ "$(json_get d/repo/metadata/timestamp.json 'd.signed.meta["snapshot.json"].version')" = 2 ] ||
  fail "the timestamp moved"
rmdir d/repo/metadata/3.snapshot.json
expect_exit 0 "$FWSEAL" release add --dir d new.bin "${ARGS[@]}" --version 1.1 --security-counter 5
[ "$(json_get d/repo/metadata/timestamp.json 'd.signed.meta["snapshot.json"].version')" = 3 ] ||
  fail "the next release did not publish"

# A repository whose metadata expired: refused until `fwseal repo refresh`.
expect_exit 0 "$FWSEAL" init --dir e --origin example.com/hub --expires timestamp=1s
sleep 2
before=$(tree_hash e)
expect_exit 1 "$FWSEAL" release add --dir e fw.bin "${ARGS[@]}" --version 1.0 --security-counter 1
expect_stderr 'timestamp metadata \(version 1\) expired at .*; run `fwseal repo refresh` first'
[ "$(tree_hash e)" = "$before" ] || fail "a release on expired metadata changed the deployment"
# The expiry period is the config's: give the timestamp a day again, then refresh.
node -e 'const fs = require("fs"), f = process.argv[1], c = JSON.parse(fs.readFileSync(f));
c.roles.timestamp.expires = "1d"; fs.writeFileSync(f, JSON.stringify(c, null, 2));' e/fwseal.json
expect_exit 0 "$FWSEAL" repo refresh --dir e
grep -q '^timestamp  re-signed' stdout || fail "refresh did not re-sign the expired timestamp"
expect_exit 0 "$FWSEAL" release add --dir e fw.bin "${ARGS[@]}" --version 1.0 --security-counter 1
finish
