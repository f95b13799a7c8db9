#!/usr/bin/env bash
# fwseal verify IMAGE --repo DIR|URL --target NAME: an image checked as a device would (TUF chain,
# target length and hashes, policy, ledger inclusion) passes; a tampered image, a wrong hardware
# model or region, a counter rollback, an expired repository, a target the repository does not
# list, a ledger that lost the release and a ledger whose checkpoint was re-signed by another key
# each exit 1 with a line naming the check; usage and I/O trouble exit 2.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"
mkdir tmpdir
export TMPDIR=$TMP/tmpdir # where verify makes (and removes) its temporary metadata directory

expect_exit 0 "$FWSEAL" init --dir d --origin example.com/hub
head -c 1000 /dev/urandom >fw1.bin
head -c 300000 /dev/urandom >fw2.bin
expect_exit 0 "$FWSEAL" release add --dir d fw1.bin --product hub --version 1.0.0 \
  --hardware hub-v2 --security-counter 1
cp -a d/ledger ledger-at-1
expect_exit 0 "$FWSEAL" release add --dir d fw2.bin --product hub --version 1.1.0 \
  --hardware hub-v2,hub-v3 --region eu,us --security-counter 2
T=hub/1.1.0/fw2.bin

# v ARGS...: fwseal verify against the deployment d.
v() { "$FWSEAL" verify --repo d --target "$T" "$@"; }
# fails CHECK REGEX ARGS...: exit 1, stderr names CHECK, and the JSON says which check failed.
fails() {
  local check=$1 re=$2; shift 2
  expect_exit 1 "$FWSEAL" verify "$@"
  expect_stderr "^fwseal verify: $check: $re"
  [ "$(wc -l <"$TMP/stderr")" = 1 ] || fail "one line on stderr"
  expect_exit 1 "$FWSEAL" verify "$@" --json
  [ "$(json_get stdout d.verified)" = false ] || fail "$check: verified in JSON"
  [ "$(json_get stdout "d.checks.find(c => c.check == '$check').result")" = failed ] ||
    fail "$check: not the failed check in JSON"
}

# ---- passes ------------------------------------------------------------------------------------
expect_exit 0 v fw2.bin
for c in tuf target policy image ledger; do
  grep -Eq "^  $c +ok " stdout || fail "check $c not reported ok"
done
grep -q 'hardware not checked (no --hardware), region not checked (no --region)' stdout ||
  fail "skipped checks not said"
grep -q '1.root.json (the repository.s first root' stdout || fail "trust anchor not said"
grep -q 'entry 1 is the release record of hub 1.1.0' stdout || fail "ledger entry"
grep -qx verified stdout || fail "verdict"
expect_exit 0 v fw2.bin --hardware hub-v3 --region us --installed-counter 2 --json
[ "$(json_get stdout d.verified)" = true ] || fail "JSON verified"
[ "$(json_get stdout d.skipped.length)" = 0 ] || fail "nothing skipped"
[ "$(json_get stdout 'd.checks.map(c => c.result).join()')" = ok,ok,ok,ok,ok ] || fail "all ok"
expect_exit 0 v fw2.bin --json
[ "$(json_get stdout 'd.skipped.join()')" = hardware,region ] || fail "skipped in JSON"
# The older release, with the root pinned explicitly and the metadata kept between runs.
cp d/repo/metadata/1.root.json pinned-root.json
expect_exit 0 "$FWSEAL" verify fw1.bin --repo d --target hub/1.0.0/fw1.bin --root pinned-root.json \
  --metadata-dir meta --hardware hub-v2 --region eu
[ -s meta/root.json ] && [ -s meta/timestamp.json ] || fail "--metadata-dir not kept"
expect_exit 0 "$FWSEAL" verify fw1.bin --repo d --target hub/1.0.0/fw1.bin --metadata-dir meta
grep -q 'trusted in an earlier run' stdout || fail "second run trusts the kept root"
# No temporary metadata directory is left behind.
[ -z "$(ls tmpdir)" ] || fail "temporary metadata directory left: $(ls tmpdir)"

# ---- each check fails ---------------------------------------------------------------------------
cp fw2.bin tampered.bin
flip_bit tampered.bin 800000
fails image 'tampered.bin has SHA-256 [0-9a-f]{64}, not the one hub/1.1.0/fw2.bin signs' \
  tampered.bin --repo d --target $T
head -c 299999 fw2.bin >short.bin
fails image 'short.bin is 299999 bytes; hub/1.1.0/fw2.bin signs 300000' short.bin --repo d --target $T
cat fw2.bin fw1.bin >long.bin
fails image 'long.bin is longer than the 300000 bytes hub/1.1.0/fw2.bin signs' long.bin --repo d \
  --target $T
fails policy 'hub/1.1.0/fw2.bin is for hardware hub-v2,hub-v3, not hub-v9' fw2.bin --repo d \
  --target $T --hardware hub-v9
fails policy 'hub/1.1.0/fw2.bin is for regions eu,us, not cn' fw2.bin --repo d --target $T \
  --region cn
fails policy 'security counter 2 is below the installed 3' fw2.bin --repo d --target $T \
  --installed-counter 3
# Expired: the timestamp lasts a day; two days from now the chain no longer verifies.
later=$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)
fails tuf 'timestamp.json expired at' fw2.bin --repo d --target $T --now "$later"
fails target 'hub/9.9.9/fw2.bin is not a target of the repository' fw2.bin --repo d \
  --target hub/9.9.9/fw2.bin
# The ledger as it was before 1.1.0: the release record is missing.
fails ledger 'release hub 1.1.0 \(ledger index 1\) is missing from the ledger \(size 1\)' fw2.bin \
  --repo d --target $T --ledger ledger-at-1
# A checkpoint re-signed by another key under the same name.
cp -a d/ledger resigned
node -e '
const { createHash, generateKeyPairSync, sign } = require("crypto");
const fs = require("fs");
const path = process.argv[1], note = fs.readFileSync(path, "utf8");
const text = note.slice(0, note.indexOf("\n\n") + 1), name = text.split("\n")[0];
const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const pub = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
const id = createHash("sha256").update(Buffer.concat([Buffer.from(name + "\n"), Buffer.from([1]), pub]))
  .digest().subarray(0, 4);
const sig = sign(null, Buffer.from(text), privateKey);
fs.writeFileSync(path, text + "\n\u2014 " + name + " " + Buffer.concat([id, sig]).toString("base64") + "\n");
' resigned/checkpoint
vkey=$(json_get d/ledger/log.json d.vkey)
fails ledger "the ledger's checkpoint is not signed by its key example.com/hub\+[0-9a-f]{8}" fw2.bin \
  --repo d --target $T --ledger resigned --ledger-vkey "$vkey"
# The same with the deployment's own log.json beside the re-signed checkpoint.
cp -a d d-resigned
cp resigned/checkpoint d-resigned/ledger/checkpoint
fails ledger "the ledger's checkpoint is not signed by its key .*from d-resigned/ledger/log.json" \
  fw2.bin --repo d-resigned --target $T
# Another repository's root as the anchor: the chain does not verify.
expect_exit 0 "$FWSEAL" init --dir other --origin example.com/other
fails tuf 'timestamp.json: 0 valid signatures, threshold 1' fw2.bin --repo d --target $T --root other/repo/metadata/1.root.json

# ---- over HTTP: a server's base URL (URL/repo/metadata, URL/log) -----------------------------------
node -e '
const http = require("http"), fs = require("fs"), path = require("path");
const map = { "/repo/": "d/repo/", "/log/": "d/ledger/" };
const srv = http.createServer((req, res) => {
  const p = Object.keys(map).find(k => req.url.startsWith(k));
  const file = p && path.normalize(map[p] + req.url.slice(p.length));
  if (!file || file.includes("..") || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    res.writeHead(404); res.end(); return;
  }
  res.writeHead(200); res.end(fs.readFileSync(file));
});
srv.listen(0, "127.0.0.1", () => fs.writeFileSync("port", String(srv.address().port)));
' &
HTTP_PID=$!
trap 'kill $HTTP_PID 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 100); do [ -s port ] && break; sleep 0.1; done
[ -s port ] || fail "HTTP server did not start"
URL=http://127.0.0.1:$(cat port)
expect_exit 0 "$FWSEAL" verify fw2.bin --repo "$URL" --target $T --root pinned-root.json \
  --ledger-vkey "$vkey" --hardware hub-v2 --region eu
grep -q 'entry 1 is the release record' stdout || fail "ledger over HTTP"
fails image 'tampered.bin has SHA-256' tampered.bin --repo "$URL" --target $T \
  --root pinned-root.json --ledger-vkey "$vkey"
kill $HTTP_PID; wait $HTTP_PID 2>/dev/null || true

# ---- usage and I/O --------------------------------------------------------------------------------
expect_exit 0 "$FWSEAL" verify --repo d --help
grep -q '^usage: fwseal verify IMAGE --repo' stdout || fail "--help"
expect_exit 2 "$FWSEAL" verify fw2.bin --repo d
expect_stderr "--repo and --target are required"
expect_exit 2 "$FWSEAL" verify fw2.bin --repo http://127.0.0.1:1 --target $T
expect_stderr "needs --root"
expect_exit 2 "$FWSEAL" verify missing.bin --repo d --target $T
expect_stderr "^fwseal verify: image: missing.bin: No such file"
expect_exit 2 "$FWSEAL" verify fw2.bin --repo nowhere --target $T
expect_stderr "nowhere/repo/metadata: missing"
expect_exit 2 "$FWSEAL" verify fw2.bin --repo d --target $T --now yesterday
expect_stderr "--now: YYYY-MM-DDTHH:MM:SSZ or Unix seconds"
# The DSSE mode is still there.
expect_exit 2 "$FWSEAL" verify fw2.bin
expect_stderr "--pub and --sig are required"
finish
