#!/usr/bin/env bash
# fwseal sbom validate: exit codes, the one-line error with its JSON pointer, --json, stdin,
# and where the schema files come from (--data-dir, FWSEAL_DATA_DIR).
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
v="$FWS_SOURCE_DIR/tests/vectors/sbom"

expect_exit 0 "$FWSEAL" sbom validate --help
grep -q "usage: fwseal sbom validate" "$TMP/stdout" || fail "--help prints no usage"
ok

expect_exit 0 "$FWSEAL" sbom validate "$v/good/02_metadata_component.json"
grep -q "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79" "$TMP/stdout" || fail "no serial number"
ok

expect_exit 0 "$FWSEAL" sbom validate --json "$v/good/07_nested_compositions.json"
[ "$(json_get "$TMP/stdout" 'd.valid && d.components === 1 && d.componentsTotal === 4')" = true ] ||
  fail "--json summary: $(cat "$TMP/stdout")"
ok

expect_exit 1 "$FWSEAL" sbom validate "$v/bad/07_component_type_enum.json"
expect_stderr '^fwseal sbom validate: .*07_component_type_enum.json: /components/3/type: not one of the allowed values \(enum\)$'
[ "$(wc -l <"$TMP/stderr")" = 1 ] || fail "more than one line on stderr"
ok

expect_exit 1 "$FWSEAL" sbom validate --json "$v/stricter/01_spec_version_1_5.json"
[ "$(json_get "$TMP/stdout" 'd.valid')" = false ] || fail "--json on failure"
expect_stderr 'CycloneDX 1.6 only'

expect_exit 1 "$FWSEAL" sbom validate "$v/bad/36_truncated.json"
expect_stderr 'byte 60'

expect_exit 0 "$FWSEAL" sbom validate - <"$v/good/01_minimal.json"
expect_exit 1 "$FWSEAL" sbom validate - <"$v/bad/30_not_an_object.json"

expect_exit 2 "$FWSEAL" sbom validate "$TMP/missing.json"
expect_exit 2 "$FWSEAL" sbom validate
expect_exit 2 "$FWSEAL" sbom validate --nope x.json

# The schema files: from --data-dir, else $FWSEAL_DATA_DIR, else the build's data directory.
expect_exit 2 "$FWSEAL" sbom validate --data-dir "$TMP" "$v/good/01_minimal.json"
expect_stderr "CycloneDX schema: .*$TMP/cyclonedx/bom-1.6.SNAPSHOT.schema.json"
FWSEAL_DATA_DIR="$TMP" expect_exit 2 "$FWSEAL" sbom validate "$v/good/01_minimal.json"
mkdir -p "$TMP/data"
cp -r "$FWS_SOURCE_DIR/data/cyclonedx" "$TMP/data/"
FWSEAL_DATA_DIR="$TMP/data" expect_exit 0 "$FWSEAL" sbom validate "$v/good/01_minimal.json"
# a schema that asks for a keyword fwseal does not implement is refused, not half applied
node -e 'const f=process.argv[1]; const s=JSON.parse(require("fs").readFileSync(f)); s.properties.version.not={const:2}; require("fs").writeFileSync(f, JSON.stringify(s))' \
  "$TMP/data/cyclonedx/bom-1.6.SNAPSHOT.schema.json"
FWSEAL_DATA_DIR="$TMP/data" expect_exit 2 "$FWSEAL" sbom validate "$v/good/01_minimal.json"
expect_stderr 'properties/version: "not" is a keyword this validator does not implement'
finish
