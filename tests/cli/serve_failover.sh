#!/bin/bash
# Two `fwseal serve` processes on one PostgreSQL (a real server from tests/lib/pg.sh) and one
# deployment: both answer devices; exactly one holds the store leadership and sequences the
# ledger; when it is killed (SIGKILL) the other takes over and every acknowledged report, sent
# to either server, reaches the ledger.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"
. "$FWS_SOURCE_DIR/tests/lib/pg.sh"
pg_start || fail "PostgreSQL did not start"
PID2=
_failover_cleanup() {
  if [ -n "$PID2" ]; then
    kill -KILL "$PID2" 2>/dev/null || true
    wait "$PID2" 2>/dev/null || true
  fi
  pg_stop
  _srv_cleanup
}
trap _failover_cleanup EXIT
URL=$(pg_createdb fleet)

CLIENT="$FWS_SOURCE_DIR/tests/cli/fleet_client.mjs"
CA=$SRV_DEPLOY/pki/prod/root.crt
N=20
srv_deploy
mkdir -p "$TMP/img" "$TMP/devs"
head -c 4096 /dev/urandom >"$TMP/img/fw.bin"
"$FWSEAL" release add --dir "$SRV_DEPLOY" "$TMP/img/fw.bin" --product hub --version 1.1.0 \
  --hardware hub-v2 --security-counter 1 >/dev/null || fail "release add"
SHA=$(sha256sum "$TMP/img/fw.bin" | cut -d' ' -f1)
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

# server A through tests/lib/server.sh, server B by hand on the same deployment and database
srv_start --store "$URL" --device-burst 50
URL_A=$SRV_URL PID_A=$SRV_PID
"$FWSEAL" serve --dir "$SRV_DEPLOY" --listen 127.0.0.1:0 --port-file "$TMP/srv2.port" \
  --threads 2 --store "$URL" --device-burst 50 >>"$TMP/serve2.log" 2>&1 &
PID2=$!
for i in $(seq 1 200); do
  [ -s "$TMP/srv2.port" ] && curl -sS -o /dev/null --max-time 2 --cacert "$CA" \
    "https://localhost:$(cat "$TMP/srv2.port")/healthz" 2>/dev/null && break
  kill -0 "$PID2" 2>/dev/null || { cat "$TMP/serve2.log" >&2; fail "server B exited"; }
  sleep 0.1
done
URL_B=https://localhost:$(cat "$TMP/srv2.port")
ok

leader_of() { # URL: 1 when that server holds the sequencer leadership
  curl -sS --max-time 5 --cacert "$CA" "$1/metrics" | awk '/^fwseal_sequencer_leader /{print $2}'
}
# exactly one leader, once both have tried
for i in $(seq 1 100); do
  a=$(leader_of "$URL_A") b=$(leader_of "$URL_B")
  [ "$((a + b))" = 1 ] && break
  sleep 0.1
done
[ "$((a + b))" = 1 ] || fail "leaders: A=$a B=$b, want exactly one"
if [ "$a" = 1 ]; then
  LEADER=$PID_A FOLLOWER_URL=$URL_B FOLLOWER_LOG=$TMP/serve2.log
else
  LEADER=$PID2 FOLLOWER_URL=$URL_A FOLLOWER_LOG=$SRV_LOG
fi
ok

installs() { # the number of install records in the ledger
  local size
  size=$(sed -n 2p "$SRV_DEPLOY/ledger/checkpoint")
  [ "$size" -gt 0 ] || { echo 0; return; }
  "$FWSEAL" log get --dir "$SRV_DEPLOY/ledger" "0..$((size - 1))" | grep -c '"type":"install"' || true
}
wait_installs() { # N: waits until the ledger holds N install records
  local i n=0
  for i in $(seq 1 150); do
    n=$(installs)
    [ "$n" -ge "$1" ] && break
    sleep 0.2
  done
  [ "$n" = "$1" ] || fail "install records in the ledger: $n, want $1"
  ok
}

# reports to both servers: the follower stores them, the leader sequences them all
node "$CLIENT" storm "$URL_A" "$CA" "$TMP/devs" $N "$TMP/acks" hub/1.1.0/fw.bin "$SHA" 2 \
  >"$TMP/s1.json" 2>"$TMP/s1.err" &
node "$CLIENT" storm "$URL_B" "$CA" "$TMP/devs" $N "$TMP/acks" hub/1.1.0/fw.bin "$SHA" 2 \
  >"$TMP/s2.json" 2>"$TMP/s2.err"
wait $! || fail "storm to A"
[ "$(json_get "$TMP/s1.json" d.acked)" = $((2 * N)) ] || { cat "$TMP/s1.err" >&2; fail "storm to A not all acknowledged"; }
[ "$(json_get "$TMP/s2.json" d.acked)" = $((2 * N)) ] || { cat "$TMP/s2.err" >&2; fail "storm to B not all acknowledged"; }
wait_installs $((2 * N)) # the same reports through both: one record each

# the leader dies; the follower takes over and sequences what comes next
kill -KILL "$LEADER"
wait "$LEADER" 2>/dev/null || true
[ "$LEADER" = "$PID2" ] && PID2= || SRV_PID=
node "$CLIENT" storm "$FOLLOWER_URL" "$CA" "$TMP/devs" $N "$TMP/acks" hub/1.1.0/fw.bin "$SHA" 4 \
  >"$TMP/s3.json" 2>"$TMP/s3.err" || fail "storm after the kill"
[ "$(json_get "$TMP/s3.json" d.acked)" = $((4 * N)) ] || { cat "$TMP/s3.err" >&2; fail "storm after the kill not all acknowledged"; }
wait_installs $((4 * N))
[ "$(leader_of "$FOLLOWER_URL")" = 1 ] || fail "the surviving server does not lead"
grep -q '"sequencer: leading"' "$FOLLOWER_LOG" || fail "the surviving server never logged its leadership"
ok

# the store agrees: nothing is left unsequenced but the duplicates set aside
sequenced=$(pg_psql fleet -Atc "SELECT count(*) FROM reports WHERE ledger_index IS NOT NULL")
[ "$sequenced" = $((4 * N)) ] || fail "sequenced reports in the store: $sequenced, want $((4 * N))"
ok
finish
