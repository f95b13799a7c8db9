#!/usr/bin/env bash
# fwseal serve re-signs the timestamp before it expires: with a 4-second timestamp period and
# a refresh every second, the served timestamp.json keeps getting new versions and is never
# expired when fetched.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/server.sh"
cd "$TMP"

"$FWSEAL" init --dir "$SRV_DEPLOY" --origin example.com/hub --expires timestamp=4s >/dev/null ||
  fail "init"
"$FWSEAL" ca init --dir "$SRV_DEPLOY" --env prod >/dev/null || fail "ca init"
srv_start --refresh-interval 1

version() { srv_curl /repo/metadata/timestamp.json; expect_status 200; json_get body d.signed.version; }
V0=$(version)
seen=$V0
for round in 1 2; do
  for i in $(seq 1 100); do
    v=$(version)
    [ "$v" -gt "$seen" ] && break
    sleep 0.1
  done
  [ "$v" -gt "$seen" ] || fail "timestamp not re-signed (version $v)"
  seen=$v
  EXP=$(json_get body 'Date.parse(d.signed.expires) / 1000')
  [ "$EXP" -gt "$(date +%s)" ] || fail "served timestamp already expired"
  ok
done
grep -q 'repository metadata re-signed' "$SRV_LOG" || fail "no refresh log"
srv_stop || fail "serve exited non-zero"
finish
