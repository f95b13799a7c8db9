#!/bin/bash
# SIGKILL of `fwseal serve` while 100 devices report: a report is acknowledged (2xx) only once
# it is durable in the store, and the sequencer of the restarted server moves every stored
# report into the ledger, so every acknowledged report ends up there, exactly once.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"

CLIENT="$FWS_SOURCE_DIR/tests/cli/fleet_client.mjs"
N=100
ROUNDS=5
srv_deploy
mkdir -p "$TMP/img" "$TMP/devs"
head -c 4096 /dev/urandom >"$TMP/img/fw.bin"
"$FWSEAL" release add --dir "$SRV_DEPLOY" "$TMP/img/fw.bin" --product hub --version 1.1.0 \
  --hardware hub-v2 --security-counter 1 >/dev/null || fail "release add"
SHA=$(sha256sum "$TMP/img/fw.bin" | cut -d' ' -f1)

# 100 devices with their own P-256 keys, provisioned in one batch
echo "serial,model,batch,csr" >"$TMP/devs/batch.csv"
for i in $(seq 1 $N); do
  openssl ecparam -name prime256v1 -genkey -noout -out "$TMP/devs/d$i.key" 2>/dev/null
  openssl req -new -key "$TMP/devs/d$i.key" -subj "/CN=d$i" -out "$TMP/devs/d$i.csr" 2>/dev/null
  echo "SN-$i,hub-v2,LOT1,d$i.csr" >>"$TMP/devs/batch.csv"
done
"$FWSEAL" provision --dir "$SRV_DEPLOY" --env prod --batch-file "$TMP/devs/batch.csv" \
  --out "$TMP/bundles" --json >"$TMP/provision.json" || fail "provision batch"
for i in $(seq 1 $N); do
  json_get "$TMP/provision.json" "d.devices[$((i - 1))].device" >"$TMP/devs/d$i.id"
  mkdir -p "$TMP/devs/d$i"
  cp "$TMP/bundles/SN-$i/device.crt" "$TMP/devs/d$i/device.crt"
done
ok

# the storm, and a SIGKILL in the middle of it
srv_start --device-rate 100 --device-burst 100
: >"$TMP/acks"
node "$CLIENT" storm "$SRV_URL" "$SRV_DEPLOY/pki/prod/root.crt" "$TMP/devs" $N "$TMP/acks" \
  hub/1.1.0/fw.bin "$SHA" $ROUNDS >"$TMP/storm.json" 2>"$TMP/storm.err" &
storm=$!
for i in $(seq 1 600); do
  [ "$(wc -l <"$TMP/acks")" -ge 60 ] && break
  sleep 0.01
done
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=
wait $storm || fail "the storm client failed"
acked=$(wc -l <"$TMP/acks")
total=$((N * ROUNDS))
echo "acknowledged before the kill: $acked of $total"
[ "$acked" -ge 60 ] || fail "too few reports acknowledged before the kill ($acked)"
[ "$acked" -lt "$total" ] || fail "the kill came after the last report: nothing was in flight"
ok

# installs_by_device: "DEVICE COUNT" lines for the install records of the ledger so far
installs_by_device() {
  local size
  size=$(sed -n 2p "$SRV_DEPLOY/ledger/checkpoint")
  [ "$size" -gt 0 ] || return 0
  "$FWSEAL" log get --dir "$SRV_DEPLOY/ledger" "0..$((size - 1))" |
    node -e 'const c={};for(const l of require("fs").readFileSync(0,"utf8").split("\n")){if(!l)continue;const r=JSON.parse(l);if(r.type==="install")c[r.device]=(c[r.device]||0)+1}for(const[d,n]of Object.entries(c))console.log(d,n)'
}

# after the restart, every acknowledged report reaches the ledger
srv_start
sort -u "$TMP/acks" | cut -d' ' -f1 | sort | uniq -c | awk '{print $2, $1}' >"$TMP/want"
missing=
for try in $(seq 1 100); do
  installs_by_device >"$TMP/have"
  missing=$(awk 'NR==FNR{h[$1]=$2;next} (h[$1]+0)<$2{print $1" ("h[$1]+0" of "$2")"; exit}' \
    "$TMP/have" "$TMP/want")
  [ -z "$missing" ] && break
  sleep 0.3
done
[ -z "$missing" ] || fail "acknowledged reports missing from the ledger: $missing"
ok

# the devices send again what was not acknowledged (and what was: duplicates are harmless);
# then every report is in the ledger exactly once
: >"$TMP/acks2"
node "$CLIENT" storm "$SRV_URL" "$SRV_DEPLOY/pki/prod/root.crt" "$TMP/devs" $N "$TMP/acks2" \
  hub/1.1.0/fw.bin "$SHA" $ROUNDS >"$TMP/storm2.json" 2>"$TMP/storm2.err" || fail "second storm"
[ "$(json_get "$TMP/storm2.json" d.acked)" = "$total" ] || { cat "$TMP/storm2.err" >&2; fail "second storm not all acknowledged"; }
for try in $(seq 1 100); do
  installs_by_device >"$TMP/have"
  n=$(awk '{s+=$2} END{print s+0}' "$TMP/have")
  [ "$n" -ge "$total" ] && break
  sleep 0.3
done
[ "$n" = "$total" ] || fail "install records in the ledger: $n, want $total (one per report)"
awk -v r=$ROUNDS '$2!=r{print; bad=1} END{exit bad}' "$TMP/have" || fail "a device has other than $ROUNDS install records"
ok
srv_stop || fail "fwseal serve exit status"
finish
