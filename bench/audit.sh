#!/usr/bin/env bash
# Fleet audit benchmark: a deployment with N devices (default 1,000,000), each with its own key,
# a certificate from the deployment's CA, provision and install records in the ledger and one
# signed install report in the store; then `fwseal audit` is timed, phase by phase, twice: the
# first audit of the deployment, and the next periodic one with the same --state (which only
# verifies reports it has not seen). Target: under 40 s on 2 cores. The peer run beside it is
# OpenSSL's own P-256 verification rate (`openssl speed`), the floor for checking the reports'
# signatures on the same cores.
#   FWS_BENCH_DEVICES=N  BUILD=build  FWS_BENCH_AUDIT_DIR=DIR (kept between runs)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${FWS_BENCH_DEVICES:-1000000}
BUILD=${BUILD:-build}
FWSEAL=${FWSEAL:-$PWD/$BUILD/fwseal}
WORK=${FWS_BENCH_AUDIT_DIR:-/tmp/fwseal-bench-audit-$N}
CORES=$(nproc)
export FWSEAL_PASSPHRASE=${FWSEAL_PASSPHRASE:-bench passphrase}
[ -x "$FWSEAL" ] || { echo "bench/audit.sh: build first (make build)" >&2; exit 2; }

# The generator, linked against the build's static libraries.
GEN=$BUILD/fwseal-audit-gen
if [ ! -x "$GEN" ] || [ bench/audit_gen.c -nt "$GEN" ]; then
  libs=""
  for m in audit store pki tuf ledger dsse json crypto util core; do libs="$libs $BUILD/libfwseal_$m.a"; done
  cc -O2 -std=c11 -D_DEFAULT_SOURCE -Iinclude -Isrc bench/audit_gen.c $libs \
    $(pkg-config --libs jansson sqlite3 libpq libcurl libcrypto) -lpthread -ldl -o "$GEN"
fi

D=$WORK/deploy
if [ ! -f "$WORK/ready" ]; then
  rm -rf "$WORK" && mkdir -p "$WORK"
  echo "== generating $N devices in $WORK (kept for later runs)"
  cat >"$WORK/sbom.json" <<'JSON'
{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
 "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
 "components": [{"type": "firmware", "name": "hub", "version": "1.1.0"}]}
JSON
  head -c 5000 /dev/urandom >"$WORK/fw1.bin"
  head -c 6000 /dev/urandom >"$WORK/fw2.bin"
  "$FWSEAL" init --dir "$D" --origin bench.example.com/fleet >/dev/null
  for v in 1 2; do
    "$FWSEAL" release add --dir "$D" "$WORK/fw$v.bin" --product hub --version 1.$((v - 1)).0 \
      --hardware hub-v2 --security-counter 1 --sbom "$WORK/sbom.json" >/dev/null
  done
  "$FWSEAL" ca init --dir "$D" --env dev >/dev/null
  "$FWSEAL" device model add --dir "$D" hub-v2 >/dev/null
  # one real provisioning creates the inventory; its device joins the fleet in the store below
  "$FWSEAL" provision --dir "$D" --env dev --serial SN-0 --model hub-v2 --batch L0 \
    --out "$WORK/b0" >/dev/null
  t0=$(date +%s)
  "$GEN" "$D" $((N - 1)) "$(sha256sum "$WORK/fw2.bin" | cut -d' ' -f1)"
  echo "generated in $(( $(date +%s) - t0 )) s"
  touch "$WORK/ready"
fi
VKEY=$(node -e "console.log(JSON.parse(require('fs').readFileSync(process.argv[1])).vkey)" "$D/ledger/log.json")

echo "== peer: openssl speed ecdsap256 (verifications per second per core)"
rate=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/nistp256/ {print $NF}' | tail -1)
echo "openssl: $rate verify/s per core"

# audit LABEL: one timed `fwseal audit` with the auditor state in $WORK/state.
audit() {
  echo "== fwseal audit, $1: $N devices, $CORES cores"
  local start end rc
  start=$(date +%s.%N)
  set +e
  "$FWSEAL" audit --dir "$D" --vkey "$VKEY" --attest-days 36500 --state "$WORK/state" --json \
    >"$WORK/audit.json"
  rc=$?
  set -e
  end=$(date +%s.%N)
  node -e '
const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
const [n, rate, cores, wall, rc] = process.argv.slice(2).map(Number);
for (const [p, s] of Object.entries(d.phases)) console.log(`  ${p.padEnd(9)} ${s.toFixed(2).padStart(8)} s`);
const st = d.statistics;
console.log(`devices ${st.devices}, reports ${st.reports} (${st.reportsVerified} signatures good, ${st.reportsRemembered} of them remembered from the previous audit), ledger ${st.treeSize} entries, ${st.certificates} certificates`);
console.log(`red flags ${d.summary.red}, warnings ${d.summary.warn} (exit ${rc})`);
const fresh = st.reports - st.reportsRemembered, floor = fresh / (rate * cores);
console.log(`wall ${wall.toFixed(1)} s; target 40 s: ${wall < 40 ? "met" : "MISSED"}`);
console.log(`peer: the ${fresh} P-256 verifications this audit made take ${floor.toFixed(1)} s on ${cores} cores with openssl alone; ratio audit/peer ${fresh >= 1000 ? (wall / floor).toFixed(2) : "- (too few to compare)"}`);
' "$WORK/audit.json" "$N" "$rate" "$CORES" "$(echo "$end - $start" | bc)" "$rc"
}

# The first audit verifies every signature; a periodic one (same --state) only new reports.
rm -rf "$WORK/state"
audit "first (every signature verified)"
audit "periodic (same --state, no new reports)"
