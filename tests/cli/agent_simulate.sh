#!/usr/bin/env bash
# fwseal-agent --simulate: three devices with file slots in one process update from 1.0.0 to
# 1.1.0; the third fails its health check and is rolled back by its bootloader's try counter.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/agent.sh"
cd "$TMP"
agent_deploy d
for n in dev1 dev2 dev3; do mkdir -p bundles/$n && cp d.bundle/* bundles/$n/; done
expect_exit 0 "$FWSEAL_AGENT" --simulate 3 --server "file://$TMP/d" --bundles bundles \
  --state fleet --hardware hub-v2 --region eu --first-image d.img/fw1.bin --product hub \
  --version 1.0.0 --target hub/1.1.0/fw2.bin --health-check 'test "$FWSEAL_DEVICE" != dev3'
grep -q '^dev1: hub 1.1.0$' "$TMP/stdout" || fail "dev1 updated: $(cat "$TMP/stdout")"
grep -q '^dev2: hub 1.1.0$' "$TMP/stdout" || fail "dev2 updated"
grep -q '^dev3: hub 1.0.0 (last failure: health check failed' "$TMP/stdout" || fail "dev3 rolled back"
grep -q '^3 devices simulated$' "$TMP/stdout" || fail "count"
for n in dev1 dev2; do
  cmp -s fleet/$n/slots/slot-B.img d.img/fw2.bin || fail "$n slot B"
  [ "$(cat fleet/$n/slots/booted)" = B ] || fail "$n runs B"
  [ "$(agent_reports fleet/$n/state install)" = 1 ] || fail "$n install report"
done
[ "$(cat fleet/dev3/slots/booted)" = A ] || fail "dev3 back on A"
cmp -s fleet/dev3/slots/slot-A.img d.img/fw1.bin || fail "dev3 slot A untouched"
[ "$(agent_reports fleet/dev3/state rollback)" = 1 ] || fail "dev3 rollback report"
ok
# Too few bundles for N.
expect_exit 2 "$FWSEAL_AGENT" --simulate 5 --server "file://$TMP/d" --bundles bundles \
  --state fleet --hardware hub-v2 --first-image d.img/fw1.bin --product hub --version 1.0.0
expect_stderr 'holds 3 bundles, 5 wanted'
finish
