#!/usr/bin/env bash
# fwseal release add|list|show|revoke, key rotate and repo refresh through the command line:
# what is published, what the ledger records, and the JSON every command prints.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"

# ledger_record LOG INDEX: the record, through `fwseal log get`, into rec.json. Canonical JSON
# writes a changelog's newlines raw, which JSON.parse refuses: escape them first.
ledger_record() {
  expect_exit 0 "$FWSEAL" log get --dir "$1" "$2"
  node -e 'const fs = require("fs");
const s = fs.readFileSync(0, "utf8").replace(/\n$/, "").replace(/\n/g, "\\n").replace(/\t/g, "\\t");
fs.writeFileSync("rec.json", JSON.stringify(JSON.parse(s)));' <"$TMP/stdout"
}

expect_exit 0 "$FWSEAL" init --dir d --origin example.com/hub
for c in "release add" "release list" "release show" "release revoke" "repo refresh" \
  "repo status" "key rotate"; do
  expect_exit 0 "$FWSEAL" $c --help
  grep -q "^usage: fwseal $c" stdout || fail "$c --help"
done

head -c 300000 /dev/urandom >fw.bin
printf 'Radio fix.\nNew "quiet" mode.\n' >CHANGES
cat >fw.cdx.json <<'EOF'
{
  "bomFormat": "CycloneDX",
  "specVersion": "1.6",
  "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
  "version": 1,
  "components": [
    {"type": "firmware", "name": "hub-firmware", "version": "1.0.0"},
    {"type": "library", "name": "mbedtls", "version": "3.6.0", "purl": "pkg:generic/mbedtls@3.6.0"}
  ]
}
EOF
expect_exit 0 "$FWSEAL" release add --dir d fw.bin --product hub --version 1.0.0 \
  --hardware hub-v2,hub-v3 --region eu,us --security-counter 4 --changelog CHANGES \
  --sbom fw.cdx.json --json
[ "$(json_get stdout d.target)" = hub/1.0.0/fw.bin ] || fail "target name"
[ "$(json_get stdout d.sha256)" = "$(sha256sum fw.bin | cut -d' ' -f1)" ] || fail "sha256"
[ "$(json_get stdout d.sha512)" = "$(sha512sum fw.bin | cut -d' ' -f1)" ] || fail "sha512"
[ "$(json_get stdout d.length)" = 300000 ] || fail "length"
[ "$(json_get stdout d.ledgerIndex)" = 0 ] || fail "ledger index"
[ "$(json_get stdout d.versions.targets)" = 2 ] || fail "targets version"
ok

# The published files: consistent-snapshot names, the same bytes as the image.
sha=$(sha256sum fw.bin | cut -d' ' -f1)
sha5=$(sha512sum fw.bin | cut -d' ' -f1)
cmp fw.bin "d/repo/targets/hub/1.0.0/$sha.fw.bin" || fail "target file <sha256>.fw.bin"
cmp fw.bin "d/repo/targets/hub/1.0.0/$sha5.fw.bin" || fail "target file <sha512>.fw.bin"
sbom_sha=$(sha256sum fw.cdx.json | cut -d' ' -f1)
cmp fw.cdx.json "d/repo/targets/hub/1.0.0/$sbom_sha.fw.bin.sbom.cdx.json" || fail "SBOM target"
ok

# The target's custom fields in the signed targets metadata.
t=d/repo/metadata/2.targets.json
c='d.signed.targets["hub/1.0.0/fw.bin"].custom.fwseal'
[ "$(json_get $t "$c.product")/$(json_get $t "$c.version")" = hub/1.0.0 ] || fail "custom p/v"
[ "$(json_get $t "$c.hardware.join()")" = hub-v2,hub-v3 ] || fail "custom hardware"
[ "$(json_get $t "$c.regions.join()")" = eu,us ] || fail "custom regions"
[ "$(json_get $t "$c.securityCounter")" = 4 ] || fail "custom securityCounter"
[ "$(json_get $t "$c.changelog")" = "$(cat CHANGES)" ] || fail "custom changelog"
[ "$(json_get $t "$c.ledgerIndex")" = 0 ] || fail "custom ledgerIndex"
[ "$(json_get $t "$c.sbom.sha256")" = "$sbom_sha" ] || fail "custom sbom.sha256"
json_get $t "$c.nonce" | grep -Eq '^[0-9a-f]{32}$' || fail "custom nonce"
prov=$(json_get $t "$c.provenance.sha256")
pfile="d/repo/targets/hub/1.0.0/$prov.fw.bin.provenance.dsse.json"
[ "$(sha256sum "$pfile" | cut -d' ' -f1)" = "$prov" ] || fail "provenance digest"
ok

# The generated provenance: SLSA v1 about the image, signed by the targets key (verify it with
# fwseal verify and the targets public key).
json_get "$pfile" d.payload | base64 -d >statement.json
[ "$(json_get statement.json d.predicateType)" = https://slsa.dev/provenance/v1 ] || fail "predicate"
[ "$(json_get statement.json 'd.subject[0].digest.sha256')" = "$sha" ] || fail "subject digest"
[ "$(json_get statement.json d.predicate.buildDefinition.buildType)" = \
  https://fwseal.dev/build/manual/v1 ] || fail "buildType"
expect_exit 0 "$FWSEAL" verify --pub d/keys/targets-*.pub --sig "$pfile" fw.bin
ok

# The ledger's record, checked by the ledger's own tools.
ledger_record d/ledger 0
[ "$(json_get rec.json d.type)" = release ] || fail "ledger record type"
[ "$(json_get rec.json d.image.sha256)" = "$sha" ] || fail "ledger image digest"
[ "$(json_get rec.json d.sbom.sha256)" = "$sbom_sha" ] || fail "ledger sbom digest"
[ "$(json_get rec.json d.provenance.sha256)" = "$prov" ] || fail "ledger provenance digest"
[ "$(json_get rec.json d.changelog)" = "$(cat CHANGES)" ] || fail "ledger changelog"
expect_exit 0 "$FWSEAL" log search --dir d/ledger --type release --product hub --version 1.0.0
grep -qx 0 stdout || fail "ledger search"
ok

# list / show.
head -c 1000 /dev/urandom >fw2.bin
expect_exit 0 "$FWSEAL" release add --dir d fw2.bin --product hub --version 1.1.0 \
  --hardware hub-v2 --security-counter 4
grep -q 'released hub 1.1.0' stdout || fail "text output"
expect_exit 0 "$FWSEAL" release list --dir d
[ "$(grep -c published stdout)" = 2 ] || fail "list shows 2 published releases"
expect_exit 0 "$FWSEAL" release list --dir d --json --product hub
[ "$(json_get stdout d.length)" = 2 ] || fail "list --json"
expect_exit 0 "$FWSEAL" release show --dir d --product hub --version 1.1.0 --json
[ "$(json_get stdout d.published.role)" = targets ] || fail "show published.role"
[ "$(json_get stdout d.published.entry.length)" = 1000 ] || fail "show published.entry"
expect_exit 2 "$FWSEAL" release show --dir d --product hub --version 9
expect_stderr "no release hub 9"

# revoke.
expect_exit 0 "$FWSEAL" release revoke --dir d --product hub --version 1.0.0 --reason "bricks v2" \
  --json
[ "$(json_get stdout d.ledgerIndex)" = 2 ] || fail "revoke ledger index"
[ "$(json_get d/repo/metadata/4.targets.json 'Object.keys(d.signed.targets).join()')" = \
  "hub/1.1.0/fw2.bin,hub/1.1.0/fw2.bin.provenance.dsse.json" ] || fail "revoked targets remain"
ledger_record d/ledger 2
[ "$(json_get rec.json d.type)/$(json_get rec.json d.id)" = revoke/hub/1.0.0 ] || fail "revoke record"
expect_exit 0 "$FWSEAL" release show --dir d --product hub --version 1.0.0
grep -q 'revoked at .*: bricks v2' stdout || fail "show revoked"
expect_exit 2 "$FWSEAL" release revoke --dir d --product hub --version 1.0.0
expect_stderr "already revoked"

# key rotate and repo refresh.
expect_exit 0 "$FWSEAL" key rotate --dir d timestamp --json
[ "$(json_get stdout d.rootVersion)" = 2 ] || fail "rotate root version"
[ "$(json_get d/repo/metadata/root.json d.signed.version)" = 2 ] || fail "root.json version"
expect_exit 0 "$FWSEAL" key rotate --dir d root --keys 2 --threshold 2
[ "$(json_get d/repo/metadata/3.root.json 'd.signatures.length')" = 3 ] || fail "root 3 sigs"
expect_exit 2 "$FWSEAL" key rotate --dir d mirror
expect_stderr "ROLE is root, targets, snapshot or timestamp"
expect_exit 0 "$FWSEAL" repo refresh --dir d
grep -q '^timestamp  kept' stdout || fail "refresh re-signed a fresh timestamp"
expect_exit 0 "$FWSEAL" repo refresh --dir d --force --json
[ "$(json_get stdout d.roles.timestamp.resigned)" = true ] || fail "refresh --force"
expect_exit 0 "$FWSEAL" repo status --dir d
grep -q '^root       v3 ' stdout || fail "status root v3"
node "$FWS_SOURCE_DIR/tests/interop/tufjs_repo_models.mjs" d/repo/metadata >/dev/null ||
  fail "@tufjs/models rejects the metadata"
ok

# Offline root keys: a rotation names them with --key when the medium is elsewhere.
expect_exit 0 "$FWSEAL" init --dir o --origin example.com/hub --root-key-dir usb
mv usb mnt
expect_exit 2 "$FWSEAL" key rotate --dir o snapshot
expect_stderr "root: 0 of the 1 keys needed could open"
expect_exit 0 "$FWSEAL" key rotate --dir o snapshot --key "$(ls "$TMP"/mnt/root-*.pem)"
[ "$(json_get o/repo/metadata/root.json d.signed.version)" = 2 ] || fail "offline rotation"
ok
finish
