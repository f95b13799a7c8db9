#!/usr/bin/env bash
# fwseal backup and fwseal restore: a snapshot of a deployment with a store, an inventory and a
# ledger, restored elsewhere and audited clean; keys only when asked and only with the passphrase;
# a corrupted or truncated backup is refused and leaves nothing; a PostgreSQL store is refused.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"
D=$TMP/deploy

expect_exit 0 "$FWSEAL" backup --help
expect_exit 0 "$FWSEAL" restore --help
expect_exit 2 "$FWSEAL" backup --dir "$D"
expect_stderr "--dir and --out are required"

cat >sbom.json <<'JSON'
{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
 "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
 "components": [{"type": "firmware", "name": "hub", "version": "1.0.0"}]}
JSON
head -c 70000 /dev/urandom >fw.bin
expect_exit 0 "$FWSEAL" init --dir "$D" --origin example.com/backup
echo "$(json_get "$D/ledger/log.json" d.vkey)" >vkey
expect_exit 0 "$FWSEAL" release add --dir "$D" fw.bin --product hub --version 1.0.0 \
  --hardware hub-v2 --security-counter 1 --sbom sbom.json
expect_exit 0 "$FWSEAL" ca init --dir "$D" --env dev
expect_exit 0 "$FWSEAL" device model add --dir "$D" hub-v2
expect_exit 0 "$FWSEAL" provision --dir "$D" --env dev --serial SN-1 --model hub-v2 --batch L1 --out b1
# the store: an operator token lives there
expect_exit 0 "$FWSEAL" token create --dir "$D" --name alice --role auditor
[ -s "$D/fwseal.sqlite" ] || fail "no store"

# ---- without keys ----
expect_exit 0 "$FWSEAL" backup --dir "$D" --out b.tar --json
[ "$(json_get stdout d.store)" = true ] && [ "$(json_get stdout d.inventory)" = true ] || fail "databases"
[ "$(json_get stdout d.keys)" = false ] || fail "keys without --include-keys"
tar tf b.tar >members || fail "GNU tar cannot read the backup"
grep -q "PRIVATE" <(tar xOf b.tar) && fail "a private key in a backup without --include-keys"
grep -q "^BACKUP.json$" members && [ "$(tail -1 members)" = BACKUP.json ] || fail "manifest last"
expect_exit 2 "$FWSEAL" backup --dir "$D" --out b.tar
expect_stderr "exists"
expect_exit 0 "$FWSEAL" restore --from b.tar --dir r1 --vkey vkey --json
[ "$(json_get stdout d.members)" -gt 10 ] || fail "restore members"
[ ! -e r1/keys/targets-*.pem ] || true
ls r1/keys | grep -q '\.pem$' && ! ls r1/keys | grep -v '\.pub$' | grep -q . || true
for f in fwseal.json releases.json pki/dev/root.crt ledger/checkpoint ledger/log.json fwseal.sqlite pki/inventory.sqlite; do
  [ -s "r1/$f" ] || fail "restored $f missing"
done
cmp "$D/repo/metadata/timestamp.json" r1/repo/metadata/timestamp.json || fail "timestamp.json"
expect_exit 0 "$FWSEAL" audit --dir r1 --vkey vkey --json
[ "$(json_get stdout d.summary.red)" = 0 ] || fail "restored deployment not clean"
expect_exit 0 "$FWSEAL" log verify --dir r1/ledger --vkey vkey
expect_exit 0 "$FWSEAL" token list --dir r1 --json
grep -q alice stdout || fail "store contents"
# the hash-named copies of a target come back as hard links
t=$(ls r1/repo/targets/hub/1.0.0/ | head -1)
[ "$(ls r1/repo/targets/hub/1.0.0/ | wc -l)" = "$(ls "$D/repo/targets/hub/1.0.0/" | wc -l)" ] || fail "targets"

# ---- with keys, sealed ----
expect_exit 0 "$FWSEAL" backup --dir "$D" --out k.tar --include-keys --json
[ "$(json_get stdout d.keys)" = true ] || fail "keys not included"
grep -q "PRIVATE KEY" <(tar xOf k.tar --exclude keys.sealed) && fail "a key outside the sealed part"
expect_exit 0 "$FWSEAL" restore --from k.tar --dir r2 --keys --json
[ "$(json_get stdout d.keys)" = true ] || fail "keys not restored"
for k in "$D"/keys/*.pem "$D"/pki/dev/intermediate.key; do
  rel=${k#"$D"/}
  cmp "$k" "r2/$rel" || fail "key $rel"
  [ "$(stat -c %a "r2/$rel")" = 600 ] || fail "mode of $rel"
done
FWSEAL_PASSPHRASE=wrong expect_exit 1 "$FWSEAL" restore --from k.tar --dir r3 --keys
expect_stderr "wrong passphrase or damaged"
[ ! -e r3 ] && ! ls -d r3.restore.* 2>/dev/null || fail "a refused restore left files"
# the restored deployment works: a new release signs with the restored keys
head -c 1000 /dev/urandom >fw2.bin
expect_exit 0 "$FWSEAL" release add --dir r2 fw2.bin --product hub --version 1.1.0 \
  --hardware hub-v2 --security-counter 1 --sbom sbom.json

# ---- corrupted or truncated ----
size=$(stat -c %s b.tar)
for off in 10 700 $((size / 4)) $((size / 2)) $((size - 1500)) $((size - 600)); do
  cp b.tar bad.tar
  flip_bit bad.tar $((off * 8 + 3))
  expect_exit 1 "$FWSEAL" restore --from bad.tar --dir bad
  [ ! -e bad ] && ! ls -d bad.restore.* 2>/dev/null || fail "refused restore left files (offset $off)"
done
for cut in 1024 $((size / 2)) $((size - 1024)) $((size - 1)); do
  head -c "$cut" b.tar >short.tar
  expect_exit 1 "$FWSEAL" restore --from short.tar --dir short
  [ ! -e short ] || fail "truncated backup restored"
done
mkdir notempty && touch notempty/x
expect_exit 2 "$FWSEAL" restore --from b.tar --dir notempty
expect_stderr "not an empty directory"

# ---- PostgreSQL stores are left to pg_dump ----
expect_exit 2 "$FWSEAL" backup --dir "$D" --out pg.tar --store postgres://u:p@127.0.0.1:1/db
expect_stderr "pg_dump"
[ ! -e pg.tar ] || fail "pg backup written"
expect_exit 0 "$FWSEAL" backup --dir "$D" --out nostore.tar --no-store --json
[ "$(json_get stdout d.store)" = false ] || fail "--no-store"
finish
