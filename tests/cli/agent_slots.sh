#!/usr/bin/env bash
# The uboot, grub and script slot backends, driven through fake fw_printenv / fw_setenv -s /
# grub-editenv tools and a hook that keep an environment file (the real tools are not installed
# here). The same update runs on each: installed into B, trial boot, confirmed; and a second
# device whose health check fails is rolled back by the try counter.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
. "$FWS_SOURCE_DIR/tests/lib/agent.sh"
cd "$TMP"
agent_deploy d

mkdir -p tools
# fw_printenv: prints every variable of $FAKE_UBOOT_ENV; fw_setenv -s FILE: "name value" lines.
cat >tools/fw_printenv <<'T'
#!/bin/sh
cat "$FAKE_UBOOT_ENV"
T
cat >tools/fw_setenv <<'T'
#!/bin/sh
[ "$1" = -s ] || exit 1
tmp="$FAKE_UBOOT_ENV.new"
cp "$FAKE_UBOOT_ENV" "$tmp"
while read -r name value; do
  grep -v "^$name=" "$tmp" >"$tmp.2"; echo "$name=$value" >>"$tmp.2"; mv "$tmp.2" "$tmp"
done <"$2"
mv "$tmp" "$FAKE_UBOOT_ENV"
T
# grub-editenv FILE list | set NAME=VALUE...
cat >tools/grub-editenv <<'T'
#!/bin/sh
f=$1; shift
case $1 in
list) cat "$f" ;;
set) shift; cp "$f" "$f.new"
  for kv in "$@"; do n=${kv%%=*}; grep -v "^$n=" "$f.new" >"$f.2"; echo "$kv" >>"$f.2"; mv "$f.2" "$f.new"; done
  mv "$f.new" "$f" ;;
*) exit 1 ;;
esac
T
# A user hook over its own env file: state, booted, mark-bad|mark-trial|mark-good SLOT.
cat >tools/hook <<'T'
#!/bin/sh
e=$HOOK_DIR/env
get() { sed -n "s/^$1=//p" "$e"; }
put() { order=$1 a=$2 b=$3; printf 'BOOT_ORDER=%s\nBOOT_A_LEFT=%s\nBOOT_B_LEFT=%s\n' "$order" "$a" "$b" >"$e"; }
a=$(get BOOT_A_LEFT) b=$(get BOOT_B_LEFT)
other() { [ "$1" = A ] && echo B || echo A; }
case $1 in
state) cat "$e" ;;
booted) cat "$HOOK_DIR/booted" ;;
mark-bad) o=$(other "$2"); if [ "$2" = A ]; then put "$o" 0 "$b"; else put "$o" "$a" 0; fi ;;
mark-trial) o=$(other "$2"); if [ "$2" = A ]; then put "A $o" 1 3; else put "B $o" 3 1; fi ;;
mark-good) o=$(other "$2"); if [ "$2" = A ]; then put "A $o" 3 "$b"; else put "B $o" "$a" 3; fi ;;
*) exit 1 ;;
esac
T
chmod +x tools/*

# power_on DIR: the bootloader's choice from DIR/env, passed to the kernel (DIR/cmdline) and
# seen by the hook (DIR/booted).
power_on() {
  local b; b=$(mktemp -d "$TMP/boot.XXXX")
  cp "$1/env" "$b/boot.env"
  agent_boot "$b"
  grep -v '^BOOT_' "$1/env" >"$1/env.new" || true
  cat "$b/boot.env" >>"$1/env.new" && mv "$1/env.new" "$1/env"
  echo "console=ttyS0 fwseal.slot=$(cat "$b/booted")" >"$1/cmdline"
  cat "$b/booted" >"$1/booted"
}

# update KIND HEALTH: the update through one backend, to the end; prints the running version.
update() {
  local kind=$1 health=$2 n=$1-$3
  mkdir -p $n/slots && cp d.img/fw1.bin $n/slots/slot-A.img
  printf 'bootdelay=1\nBOOT_ORDER=A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n' >$n/env
  echo "console=ttyS0 fwseal.slot=A" >$n/cmdline
  echo A >$n/booted
  export FAKE_UBOOT_ENV=$TMP/$n/env HOOK_DIR=$TMP/$n
  local extra=()
  case $kind in
  uboot) extra=(--tool "$TMP/tools" --cmdline $n/cmdline) ;;
  grub) extra=(--tool "$TMP/tools/grub-editenv" --env-file $n/env --cmdline $n/cmdline) ;;
  script) extra=(--tool "$TMP/tools/hook") ;;
  esac
  local args=(--server "file://$TMP/d" --bundle d.bundle --state $n/st --slot-backend "$kind"
    --slot-dir $n/slots --device-id $n --product hub --version 1.0.0 --hardware hub-v2
    --region eu --health-check "$health" "${extra[@]}" --once)
  expect_exit 3 "$FWSEAL_AGENT" "${args[@]}" --target hub/1.1.0/fw2.bin
  grep -Eq '^BOOT_ORDER=B ?A$' $n/env || fail "$kind: trial not marked: $(cat $n/env)"
  grep -q '^BOOT_B_LEFT=1$' $n/env || fail "$kind: the trial has one try"
  cmp -s $n/slots/slot-A.img d.img/fw1.bin || fail "$kind: slot A changed"
  power_on $n
  [ "$(cat $n/booted)" = B ] || fail "$kind: trial boot"
  local rc=0
  "$FWSEAL_AGENT" "${args[@]}" >$n/out 2>&1 || rc=$?
  if [ $rc = 4 ]; then power_on $n; "$FWSEAL_AGENT" "${args[@]}" >>$n/out 2>&1 || true; fi
  "$FWSEAL_AGENT" status --state $n/st --json >$n/status.json
  echo "$(json_get $n/status.json d.installedVersion) $(cat $n/booted) $rc"
}

for kind in uboot grub script; do
  got=$(update $kind true ok)
  [ "$got" = "1.1.0 B 0" ] || fail "$kind: confirmed update ended as '$got'"
  ok
  grep -q '^BOOT_B_LEFT=3$' $kind-ok/env || fail "$kind: confirmed slot has its tries"
  got=$(update $kind false bad)
  [ "$got" = "1.0.0 A 4" ] || fail "$kind: failed health check ended as '$got'"
  ok
  [ "$(agent_reports $kind-bad/st rollback)" = 1 ] || fail "$kind: rollback report"
  grep -q 'health check failed' $kind-bad/status.json || fail "$kind: reason"
done

# A broken tool is an error, not a guess.
printf '#!/bin/sh\nexit 5\n' >tools/fw_printenv
mkdir -p broken/slots && cp d.img/fw1.bin broken/slots/slot-A.img
expect_exit 2 "$FWSEAL_AGENT" --server "file://$TMP/d" --bundle d.bundle --state broken/st \
  --slot-backend uboot --tool "$TMP/tools" --slot-dir broken/slots --device-id b --product hub \
  --version 1.0.0 --hardware hub-v2 --region eu --once --target hub/1.1.0/fw2.bin
expect_stderr 'fw_printenv exited with status 5'
finish
