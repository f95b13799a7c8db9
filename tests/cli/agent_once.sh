#!/usr/bin/env bash
# fwseal-agent --once against a deployment built with fwseal init / release add (file:// server):
# an update verified by TUF, the policy and the ledger, installed, booted on trial, confirmed;
# and every refusal before activation (hardware, region, counter, tampered image, a release
# missing from the ledger, a forked ledger, expired metadata), each reported with the active
# slot untouched.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/agent.sh"
cd "$TMP"

agent_deploy d
B=d.bundle

# run NAME [args]: one pass of a device named NAME (state NAME.st, slots NAME.slots).
run() {
  local n=$1; shift
  "$FWSEAL_AGENT" --server "file://$TMP/d" --bundle $B --state $n.st --slot-backend file \
    --slot-dir $n.slots --device-id $n --product hub --version 1.0.0 --once "$@"
}

fresh() { rm -rf "$1.st" "$1.slots"; agent_device "$1.slots" d.img/fw1.bin; }

# untouched NAME: still running 1.0.0 from slot A, B out of the boot order.
untouched() {
  cmp -s "$1.slots/slot-A.img" d.img/fw1.bin || fail "$1: slot A changed"
  grep -qx 'BOOT_ORDER=A' "$1.slots/boot.env" || fail "$1: boot order changed"
  agent_boot "$1.slots"
  [ "$(cat "$1.slots/booted")" = A ] || fail "$1: does not boot A"
  ok
}

# ---- the update ---------------------------------------------------------------------------
fresh ok
expect_exit 3 run ok --hardware hub-v2 --region eu --target hub/1.1.0/fw2.bin
grep -q 'installed' "$TMP/stdout" || fail "installed"
cmp -s ok.slots/slot-B.img d.img/fw2.bin || fail "slot B holds the image"
cmp -s ok.slots/slot-A.img d.img/fw1.bin || fail "slot A untouched"
[ "$(cat ok.st/counter 2>/dev/null || echo 0)" = 0 ] || fail "counter raised before confirmation"
expect_exit 0 "$FWSEAL_AGENT" status --state ok.st --json
[ "$(json_get stdout d.state)" = installed-pending ] || fail "state"
agent_boot ok.slots
[ "$(cat ok.slots/booted)" = B ] || fail "trial boot"
expect_exit 0 run ok --hardware hub-v2 --region eu --health-check 'test "$FWSEAL_VERSION" = 1.1.0'
grep -q 'confirmed, running hub 1.1.0' "$TMP/stdout" || fail "confirmed"
[ "$(cat ok.st/counter)" = 2 ] || fail "counter after confirmation"
[ "$(agent_reports ok.st install)" = 1 ] || fail "install report"
# Nothing more to do: the same target is what runs.
expect_exit 0 run ok --hardware hub-v2 --region eu --target hub/1.1.0/fw2.bin
grep -q 'up-to-date' "$TMP/stdout" || fail "up to date"

# ---- refusals -------------------------------------------------------------------------------
refused() { # NAME REGEX args...
  local n=$1 re=$2; shift 2
  fresh $n
  expect_exit 1 run $n --target hub/1.1.0/fw2.bin "$@"
  expect_stderr "$re"
  [ "$(agent_reports $n.st verification-failure)" = 1 ] || fail "$n: not reported"
  untouched $n
}
refused hw 'not for this hardware model' --hardware hub-v9 --region eu
refused region 'not for this region' --hardware hub-v2 --region us
mkdir -p ctr.st && echo 7 >ctr.st/counter
fresh_keep() { rm -rf "$1.slots"; agent_device "$1.slots" d.img/fw1.bin; }
fresh_keep ctr
expect_exit 1 run ctr --target hub/1.1.0/fw2.bin --hardware hub-v2 --region eu
expect_stderr 'security counter is below'
untouched ctr

# A tampered image in the repository: refused by the verifier, slot B never offered.
cp -a d tampered
img=$(ls tampered/repo/targets/hub/1.1.0/ | grep -E '^[0-9a-f]{64}\.fw2\.bin$')
flip_bit "tampered/repo/targets/hub/1.1.0/$img" 4000
fresh tmp
expect_exit 1 "$FWSEAL_AGENT" --server "file://$TMP/tampered" --bundle $B --state tmp.st \
  --slot-backend file --slot-dir tmp.slots --device-id tmp --product hub --version 1.0.0 \
  --once --hardware hub-v2 --region eu --target hub/1.1.0/fw2.bin
expect_stderr 'SHA-256'
untouched tmp

# The ledger does not hold the release yet (an older ledger behind the same repository).
cp -a d behind && rm -rf behind/ledger && cp -a d.ledger-at-1 behind/ledger
fresh miss
expect_exit 1 "$FWSEAL_AGENT" --server "file://$TMP/behind" --bundle $B --state miss.st \
  --slot-backend file --slot-dir miss.slots --device-id miss --product hub --version 1.0.0 \
  --once --hardware hub-v2 --region eu --target hub/1.1.0/fw2.bin
expect_stderr 'missing from the ledger'
untouched miss

# A forked ledger: same key, another entry at index 1. The device saw the real one first.
cp -a d forked && rm -rf forked/ledger && cp -a d.ledger-at-1 forked/ledger
echo '{"type":"revoke","schema":1,"time":"2026-01-01T00:00:00Z","subject":"release","id":"hub/0.9","reason":"fork"}' >rec.json
expect_exit 0 "$FWSEAL" log append --dir forked/ledger rec.json
cp ok.st/checkpoint /dev/null # ok has seen the real ledger at size 2
fresh fork
cp ok.st/checkpoint fork.st/checkpoint 2>/dev/null || { mkdir -p fork.st; cp ok.st/checkpoint fork.st/; }
expect_exit 1 "$FWSEAL_AGENT" --server "file://$TMP/forked" --bundle $B --state fork.st \
  --slot-backend file --slot-dir fork.slots --device-id fork --product hub --version 1.0.0 \
  --once --hardware hub-v2 --region eu --target hub/1.1.0/fw2.bin
expect_stderr 'forked ledger|not consistent'
untouched fork

# Expired metadata: a timestamp that lives one second.
cp -a d old
node -e "const fs=require('fs');const c=JSON.parse(fs.readFileSync('old/fwseal.json'));
c.roles.timestamp.expires='1s';fs.writeFileSync('old/fwseal.json',JSON.stringify(c,null,2))"
expect_exit 0 "$FWSEAL" repo refresh --dir old --force
sleep 2
fresh exp
expect_exit 1 "$FWSEAL_AGENT" --server "file://$TMP/old" --bundle $B --state exp.st \
  --slot-backend file --slot-dir exp.slots --device-id exp --product hub --version 1.0.0 \
  --once --hardware hub-v2 --region eu --target hub/1.1.0/fw2.bin
expect_stderr 'xpired'
untouched exp

# Usage errors.
expect_exit 2 "$FWSEAL_AGENT" --once
expect_exit 2 "$FWSEAL_AGENT" status
expect_exit 0 "$FWSEAL_AGENT" --help
finish
