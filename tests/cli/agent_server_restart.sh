#!/usr/bin/env bash
# The server restarts during a rollout and no report is lost: six simulated devices update
# while fwseal serve is killed (SIGKILL) mid-rollout and started again; the devices keep their
# unacknowledged reports queued on disk and deliver them to the restarted server, and in the
# end the ledger holds exactly one install record per device.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"
cd "$TMP"
N=6
srv_deploy
mkdir -p v1 v2
head -c 300000 /dev/urandom >v1/fw.bin
head -c 300000 /dev/urandom >v2/fw.bin
"$FWSEAL" release add --dir "$SRV_DEPLOY" v1/fw.bin --product hub --version 1.0.0 \
  --hardware hub-v2 --security-counter 1 >/dev/null || fail "release 1.0.0"
"$FWSEAL" release add --dir "$SRV_DEPLOY" v2/fw.bin --product hub --version 1.1.0 \
  --hardware hub-v2 --security-counter 2 >/dev/null || fail "release 1.1.0"
srv_start # the first start makes the assignment key that bundles carry
mkdir -p bundles
for i in $(seq 1 $N); do
  srv_device "dev$i" >/dev/null
  mv "$TMP/dev$i" "bundles/dev$i"
  openssl pkcs8 -topk8 -nocrypt -in "$TMP/dev$i.key" -out "bundles/dev$i/device.key"
done
"$FWSEAL" rollout create --dir "$SRV_DEPLOY" --release hub/1.1.0 --stages 100 \
  --quarantine 0s >/dev/null || fail "rollout create"

simulate() {
  "$FWSEAL_AGENT" --simulate $N --server "$SRV_URL" --bundles bundles --state fleet \
    --hardware hub-v2 --first-image v1/fw.bin --product hub --version 1.0.0 \
    >>sim.out 2>>sim.err || true
}

# First pass with the server killed part way through it.
simulate &
sim=$!
sleep 0.$((RANDOM % 6 + 3))
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=
wait "$sim" || true
pending=$(find fleet -path '*/state/reports/*.json' | wc -l)
echo "server killed during the first pass; reports still queued on the devices: $pending"

# The server comes back (same deployment, same keys); the devices pass again until all six
# run 1.1.0 and their queues are empty.
srv_start
for _ in 1 2 3 4; do
  simulate
  done=$(grep -c ': hub 1.1.0$' <(tail -n $((N + 1)) sim.out) || true)
  [ "$done" -eq $N ] && break
done
[ "$done" -eq $N ] || { tail -n 20 sim.out sim.err >&2; fail "$done of $N devices run 1.1.0"; }
ok

# Every device's install report reaches the ledger exactly once (the index can run ahead of
# the published checkpoint for a moment: wait until every entry it names can be proven).
all_proven() {
  local i
  while read -r i; do "$FWSEAL" log get --dir "$SRV_DEPLOY/ledger" "$i" || return 1; done \
    <idx.txt >records.txt 2>/dev/null
}
for _ in $(seq 1 150); do
  "$FWSEAL" log search --dir "$SRV_DEPLOY/ledger" --type install >idx.txt
  [ "$(wc -l <idx.txt)" -ge $N ] && all_proven && break
  sleep 0.2
done
devices=$(node -e 'const ds=require("fs").readFileSync("records.txt","utf8").trim().split("\n")
  .map(l=>JSON.parse(l)).filter(r=>r.toVersion==="1.1.0").map(r=>r.device);
  console.log(ds.length, new Set(ds).size)')
[ "$devices" = "$N $N" ] || fail "install records (count, distinct devices): $devices, want $N $N"
left=$(find fleet -path '*/state/reports/*.json' | wc -l)
[ "$left" -eq 0 ] || fail "$left reports still queued on the devices"
ok
srv_stop || true
finish
