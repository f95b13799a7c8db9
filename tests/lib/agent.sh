# Helpers for the agent's shell tests. Source after common.sh.
: "${FWSEAL_AGENT:?FWSEAL_AGENT must point at the fwseal-agent binary (run through ctest)}"

# agent_deploy DIR: a deployment with hub 1.0.0 (counter 1) and 1.1.0 (counter 2, region eu),
# the images in DIR.img/fw1.bin and fw2.bin, the ledger as it was after 1.0.0 in
# DIR.ledger-at-1, and a device bundle in DIR.bundle (TUF root and ledger key).
agent_deploy() {
  local d=$1
  "$FWSEAL" init --dir "$d" --origin example.com/hub >/dev/null
  mkdir -p "$d.img"
  head -c 200000 /dev/urandom >"$d.img/fw1.bin"
  head -c 300000 /dev/urandom >"$d.img/fw2.bin"
  "$FWSEAL" release add --dir "$d" "$d.img/fw1.bin" --product hub --version 1.0.0 \
    --hardware hub-v2 --security-counter 1 >/dev/null
  cp -a "$d/ledger" "$d.ledger-at-1"
  "$FWSEAL" release add --dir "$d" "$d.img/fw2.bin" --product hub --version 1.1.0 \
    --hardware hub-v2 --region eu --security-counter 2 >/dev/null
  mkdir -p "$d.bundle"
  cp "$d/repo/metadata/1.root.json" "$d.bundle/root.json"
  json_get "$d/ledger/log.json" d.vkey >"$d.bundle/ledger.vkey"
}

# agent_device SLOTS IMAGE: file slots with IMAGE in slot A, booted and confirmed.
agent_device() {
  mkdir -p "$1"
  cp "$2" "$1/slot-A.img"
  : >"$1/slot-B.img"
  printf 'BOOT_ORDER=A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n' >"$1/boot.env"
  echo A >"$1/booted"
}

# agent_boot SLOTS: what the bootloader does at power-on with the file backend's environment:
# the first slot in BOOT_ORDER with tries left, spending one.
agent_boot() {
  local env=$1/boot.env order a b slot
  order=$(sed -n 's/^BOOT_ORDER=//p' "$env")
  a=$(sed -n 's/^BOOT_A_LEFT=//p' "$env")
  b=$(sed -n 's/^BOOT_B_LEFT=//p' "$env")
  for slot in $order; do
    if [ "$slot" = A ] && [ "$a" -gt 0 ]; then a=$((a - 1)); break; fi
    if [ "$slot" = B ] && [ "$b" -gt 0 ]; then b=$((b - 1)); break; fi
    slot=
  done
  [ -n "$slot" ] || fail "no slot boots in $1"
  printf 'BOOT_ORDER=%s\nBOOT_A_LEFT=%s\nBOOT_B_LEFT=%s\n' "$order" "$a" "$b" >"$env"
  echo "$slot" >"$1/booted"
}

# agent_reports STATE TYPE: how many queued reports of TYPE (payloads decoded).
agent_reports() {
  local n=0 f
  for f in "$1"/reports/*.json; do
    [ -e "$f" ] || continue
    node -e "const e=JSON.parse(require('fs').readFileSync(process.argv[1]));
process.exit(JSON.parse(Buffer.from(e.payload,'base64')).type===process.argv[2]?0:1)" "$f" "$2" &&
      n=$((n + 1))
  done
  echo $n
}
