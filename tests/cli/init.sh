#!/usr/bin/env bash
# fwseal init: the deployment it creates, its options, and what it refuses.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"

expect_exit 0 "$FWSEAL" init --help
grep -q '^usage: fwseal init --dir DEPLOY --origin NAME' stdout || fail "init --help"

expect_exit 0 "$FWSEAL" init --dir d1 --origin example.com/hub --root-keys 3 --root-threshold 2 \
  --expires targets=30d --expires timestamp=12h --json
[ "$(json_get stdout d.root.threshold)" = 2 ] || fail "--json root.threshold"
[ "$(json_get stdout 'd.root.keyids.length')" = 3 ] || fail "--json root keyids"
for f in fwseal.json fwseal.lock releases.json repo/metadata/1.root.json repo/metadata/root.json \
  repo/metadata/1.targets.json repo/metadata/1.snapshot.json repo/metadata/timestamp.json \
  ledger/log.json ledger/checkpoint; do
  [ -e "d1/$f" ] || fail "init did not make $f"
done
ok
cmp d1/repo/metadata/1.root.json d1/repo/metadata/root.json || fail "root.json is not 1.root.json"
# Keys: encrypted PKCS#8, mode 0600, one per role key and one for the ledger.
[ "$(ls d1/keys/*.pem | wc -l)" = 7 ] || fail "expected 7 private keys"
for k in d1/keys/*.pem; do
  [ "$(stat -c %a "$k")" = 600 ] || fail "$k is not mode 0600"
  grep -q 'BEGIN ENCRYPTED PRIVATE KEY' "$k" || fail "$k is not encrypted"
done
ok
# The config: roles with key references, thresholds and expiries; hashed-bin settings.
[ "$(json_get d1/fwseal.json d.origin)" = example.com/hub ] || fail "config origin"
[ "$(json_get d1/fwseal.json d.roles.root.threshold)" = 2 ] || fail "config root threshold"
[ "$(json_get d1/fwseal.json d.roles.targets.expires)" = 30d ] || fail "config targets expiry"
[ "$(json_get d1/fwseal.json d.roles.timestamp.expires)" = 12h ] || fail "config ts expiry"
[ "$(json_get d1/fwseal.json d.roles.snapshot.expires)" = 1w ] || fail "config snapshot expiry"
[ "$(json_get d1/fwseal.json d.hashedBins.threshold)" = 1024 ] || fail "config bins threshold"
ok
# Expiries in the metadata follow the periods.
node -e '
const fs = require("fs"), d = process.argv[1];
const get = (f) => JSON.parse(fs.readFileSync(d + "/repo/metadata/" + f)).signed;
const root = get("1.root.json"), ts = get("timestamp.json"), tg = get("1.targets.json");
const h = (s) => (Date.parse(s.expires) - Date.parse(root.expires)) / 3600000;
if (Math.abs(h(ts) - (12 - 365 * 24)) > 1) throw new Error("timestamp expiry " + ts.expires);
if (Math.abs(h(tg) - (30 - 365) * 24) > 1) throw new Error("targets expiry " + tg.expires);
if (!root.consistent_snapshot) throw new Error("consistent snapshots off");
if (root.roles.root.threshold !== 2 || root.roles.root.keyids.length !== 3) throw new Error("root role");
' "$TMP/d1" || fail "metadata expiries"
ok
# The ledger is a log named after the origin, with its key named in log.json.
head -n1 d1/ledger/checkpoint | grep -qx 'example.com/hub' || fail "ledger origin"
expect_exit 0 "$FWSEAL" repo status --dir d1 --json
[ "$(json_get stdout d.roles.timestamp.version)" = 1 ] || fail "status timestamp version"
ok

# Root keys on other media.
expect_exit 0 "$FWSEAL" init --dir d2 --origin example.com/hub --root-key-dir usb --root-keys 2
[ "$(ls usb/root-*.pem | wc -l)" = 2 ] || fail "root keys are not on the offline medium"
[ "$(ls d2/keys/root-* 2>/dev/null | wc -l)" = 0 ] || fail "root keys inside the deployment"
case "$(json_get d2/fwseal.json 'd.roles.root.keys[0].ref')" in
/*/usb/root-*.pem) ok ;;
*) fail "root key reference is not the absolute path on the medium" ;;
esac

# Refusals: nothing is left behind.
expect_exit 2 "$FWSEAL" init --dir d1 --origin example.com/hub
expect_stderr "d1: exists and is not empty"
expect_exit 2 "$FWSEAL" init --dir d3
expect_stderr "--dir and --origin are required"
expect_exit 2 "$FWSEAL" init --dir d3 --origin example.com/hub --root-keys 2 --root-threshold 3
expect_stderr "more than the 2 root keys"
expect_exit 2 "$FWSEAL" init --dir d3 --origin "bad origin"
expect_stderr "origin must be"
expect_exit 2 "$FWSEAL" init --dir d3 --origin example.com/hub --expires timestamp=soon
expect_stderr "not a duration"
expect_exit 2 "$FWSEAL" init --dir d3 --origin example.com/hub --expires mirror=1d
expect_stderr "unknown role 'mirror'"
expect_exit 2 "$FWSEAL" init --dir d3 --origin example.com/hub --key-type rsa
expect_stderr "ed25519 or p256"
[ ! -e d3 ] || fail "a refused init left d3"
[ -z "$(ls -d d3.init-* 2>/dev/null)" ] || fail "a refused init left a temporary directory"
ok
# An empty directory is fine.
mkdir d4
expect_exit 0 "$FWSEAL" init --dir d4 --origin example.com/hub --key-type p256
grep -q '"keyType": "p256"' d4/fwseal.json || fail "p256 deployment"
ok
# A wrong passphrase later is a clear error.
head -c 1000 /dev/urandom >fw.bin
FWSEAL_PASSPHRASE=wrong expect_exit 2 "$FWSEAL" release add --dir d4 fw.bin --product hub \
  --version 1 --hardware h --security-counter 0
expect_stderr "passphrase"
finish
