#!/usr/bin/env bash
# A validator we did not write judges the same BOMs as fwseal: @cyclonedx/cyclonedx-library's
# JsonStrictValidator for CycloneDX 1.6 against `fwseal sbom validate`, over
#  - every sample in tests/vectors/sbom (good: both accept; bad: both refuse; stricter: the
#    documented cases the reference accepts and fwseal refuses, see docs/SBOM.md),
#  - one BOM per row of formats.json (each side must give the answer its column says),
#  - a few hundred deterministic mutants of the good samples (the two must agree on each),
# and checks patterns.json against JavaScript's RegExp. Prints the table.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
interop="$FWS_SOURCE_DIR/tests/interop"
vectors="$FWS_SOURCE_DIR/tests/vectors/sbom"
[ -d "$interop/node_modules/@cyclonedx/cyclonedx-library" ] ||
  fail "Node test tools missing: run scripts/setup"
mjs="$interop/cyclonedx_validator.mjs"
run_node() { (cd "$interop" && node "$mjs" "$@"); }

run_node patterns "$vectors/patterns.json" || fail "patterns.json disagrees with RegExp"
ok

mkdir "$TMP/mutants" "$TMP/formats"
run_node mutants "$TMP/mutants" "$vectors"/good/*.json
run_node formats "$vectors/formats.json" "$TMP/formats"

# fwseal's verdict on each sample: category, file, exit status, the error line.
results="$TMP/results.tsv"
judge() {
  local category=$1 file=$2 rc=0 why
  "$FWSEAL" sbom validate "$file" >/dev/null 2>"$TMP/err" || rc=$?
  why=$(head -c 400 "$TMP/err" | tr '\t\n' '  ')
  why=${why#"fwseal sbom validate: $file: "}
  printf '%s\t%s\t%s\t%s\n' "$category" "$file" "$rc" "$why" >>"$results"
}
for category in good bad stricter; do
  for f in "$vectors/$category"/*.json; do judge "$category" "$f"; done
done
for f in "$TMP/formats"/*.json; do judge format "$f"; done
for f in "$TMP/mutants"/*.json; do judge mutant "$f"; done
[ "$(grep -c . "$results")" -gt 300 ] || fail "too few samples judged"

run_node compare "$results" || fail "fwseal and the CycloneDX library disagree (see the table above)"
ok
finish
