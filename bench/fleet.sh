#!/bin/bash
# bench/fleet.sh [N]: N simulated devices (default 1000; fwseal-agent --simulate, docs/AGENT.md)
# go through a staged rollout (1, 10, 50, 100 percent) of one release served by one
# `fwseal serve` on loopback (SQLite store). Prints the time from the rollout's start to its
# completion, the server's CPU time per device update, and the failures (target: none).
# Not part of the test suite: it takes minutes. Uses FWSEAL, FWSEAL_AGENT (or FWS_BUILD_DIR).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FWS_BUILD_DIR:-$HERE/build}
FWSEAL=${FWSEAL:-$BUILD/fwseal}
AGENT=${FWSEAL_AGENT:-$BUILD/fwseal-agent}
N=${1:-1000}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fwseal-bench-fleet.XXXXXX")
SRV=
cleanup() {
  if [ -n "$SRV" ]; then kill -TERM "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
export FWSEAL_PASSPHRASE=bench-passphrase
D=$TMP/deploy
say() { printf '%s\n' "$*" >&2; }

say "deployment, CA, releases"
"$FWSEAL" init --dir "$D" --origin bench.example/hub >/dev/null
"$FWSEAL" ca init --dir "$D" --env prod >/dev/null
"$FWSEAL" device model add --dir "$D" hub-v2 >/dev/null
mkdir -p "$TMP/v1" "$TMP/v2"
head -c 65536 /dev/urandom >"$TMP/v1/fw.bin"
head -c 65536 /dev/urandom >"$TMP/v2/fw.bin"
"$FWSEAL" release add --dir "$D" "$TMP/v1/fw.bin" --product hub --version 1.0.0 \
  --hardware hub-v2 --security-counter 1 >/dev/null
"$FWSEAL" release add --dir "$D" "$TMP/v2/fw.bin" --product hub --version 1.1.0 \
  --hardware hub-v2 --security-counter 2 >/dev/null

say "fwseal serve (its first start makes the assignment key that bundles carry)"
"$FWSEAL" serve --dir "$D" --listen 127.0.0.1:0 --port-file "$TMP/port" --threads 2 \
  --device-rate 20 --device-burst 40 --max-connections 20000 >"$TMP/serve.log" 2>&1 &
SRV=$!
for _ in $(seq 1 300); do
  [ -s "$TMP/port" ] && curl -sS -o /dev/null --cacert "$D/pki/prod/root.crt" \
    "https://localhost:$(cat "$TMP/port")/healthz" 2>/dev/null && break
  sleep 0.1
done
URL=https://localhost:$(cat "$TMP/port")

say "$N devices: keys, requests, one provisioning batch"
mkdir -p "$TMP/csr"
echo "serial,model,batch,csr" >"$TMP/csr/batch.csv"
for i in $(seq -w 1 "$N"); do
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/csr/k$i.pem" 2>/dev/null
  openssl req -new -key "$TMP/csr/k$i.pem" -subj "/CN=sim$i" -out "$TMP/csr/r$i.csr" 2>/dev/null
  echo "SIM-$i,hub-v2,BENCH,r$i.csr" >>"$TMP/csr/batch.csv"
done
"$FWSEAL" provision --dir "$D" --env prod --batch-file "$TMP/csr/batch.csv" --out "$TMP/bundles" \
  >/dev/null
for i in $(seq -w 1 "$N"); do
  cp "$TMP/csr/k$i.pem" "$TMP/bundles/SIM-$i/device.key"
  [ -s "$TMP/bundles/SIM-$i/assignment.pub" ] || cp "$D/keys/assignment.pub" "$TMP/bundles/SIM-$i/"
done

cpu() { awk '{print $14 + $15}' "/proc/$SRV/stat"; }
tick=$(getconf CLK_TCK)
"$FWSEAL" rollout create --dir "$D" --release hub/1.1.0 --stages 1,10,50,100 \
  --success-threshold 95 --failure-threshold 5 --quarantine 0s --json >"$TMP/rollout.json"
id=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).id)' "$TMP/rollout.json")
state() {
  "$FWSEAL" rollout show --dir "$D" "$id" --json |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);
      const f=r.stages.reduce((a,x)=>a+x.failed,0), ok=r.stages.reduce((a,x)=>a+x.succeeded,0);
      console.log(r.state, r.currentStage, ok, f)})'
}

say "rollout $id: simulated passes until it completes"
cpu0=$(cpu)
t0=$(date +%s.%N)
passes=0
while :; do
  read -r st stage ok failed < <(state)
  say "  pass $passes: $st, stage $stage, $ok succeeded, $failed failed"
  [ "$st" = completed ] || [ "$st" = paused ] || [ "$st" = cancelled ] && break
  [ "$passes" -lt 40 ] || { say "gave up after $passes passes"; break; }
  "$AGENT" --simulate "$N" --server "$URL" --bundles "$TMP/bundles" --state "$TMP/sim" \
    --hardware hub-v2 --first-image "$TMP/v1/fw.bin" --product hub --version 1.0.0 \
    >"$TMP/sim.out" 2>"$TMP/sim.err" || true
  passes=$((passes + 1))
done
t1=$(date +%s.%N)
cpu1=$(cpu)
read -r st stage ok failed < <(state)
agent_failures=$(grep -c 'fail' "$TMP/sim.out" || true)
node -e '
const [n, t0, t1, c0, c1, tick, ok, failed, st, af, passes] = process.argv.slice(1);
const secs = t1 - t0, cpu = (c1 - c0) / tick;
console.log(`devices                      ${n}`);
console.log(`rollout                      ${st} after ${passes} simulated passes`);
console.log(`time to full rollout         ${secs.toFixed(1)} s`);
console.log(`server CPU per device update ${(1000 * cpu / Math.max(1, +ok)).toFixed(2)} ms (${cpu.toFixed(1)} s for ${ok} updates)`);
console.log(`failures                     ${failed} rollout, ${af} agent lines (target: none)`);
' "$N" "$t0" "$t1" "$cpu0" "$cpu1" "$tick" "$ok" "$failed" "$st" "$agent_failures" "$passes"
