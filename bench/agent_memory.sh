#!/usr/bin/env bash
# Peak RSS of fwseal-agent while it installs a 1 GiB image (streamed through the verifier core
# into the inactive slot), measured with GNU time, beside `sha256sum` of the same file as the
# peer. Target: under 16 MiB. Usage: bench/agent_memory.sh [BUILD_DIR] [SIZE_MIB]
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
MIB=${2:-1024}
SRC=$(cd "$(dirname "$0")/.." && pwd)
FWSEAL=$BUILD/fwseal AGENT=$BUILD/fwseal-agent
[ -x "$AGENT" ] || { echo "build first: $AGENT missing" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fwseal-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export FWSEAL_PASSPHRASE=bench FWS_SOURCE_DIR=$SRC FWSEAL FWSEAL_AGENT=$AGENT
cd "$TMP"
fail() { echo "FAIL: $*" >&2; exit 1; }
json_get() { node -e "const d=JSON.parse(require('fs').readFileSync(process.argv[1],'utf8')); process.stdout.write(String($2))" "$1"; }
. "$SRC/tests/lib/agent.sh"
"$FWSEAL" init --dir d --origin bench.example/hub >/dev/null
mkdir -p img && head -c 4096 /dev/urandom >img/fw1.bin
"$FWSEAL" release add --dir d img/fw1.bin --product hub --version 1.0.0 --hardware hub-v2 \
  --security-counter 1 >/dev/null
dd if=/dev/urandom of=img/fw.bin bs=1M count="$MIB" status=none
"$FWSEAL" release add --dir d img/fw.bin --product hub --version 2.0.0 --hardware hub-v2 \
  --security-counter 1 >/dev/null
mkdir -p bundle && cp d/repo/metadata/1.root.json bundle/root.json
json_get d/ledger/log.json d.vkey >bundle/ledger.vkey
agent_device slots img/fw1.bin
peak() { /usr/bin/time -o "$TMP/rss" -f "%M" "$@" >/dev/null || true; tail -1 "$TMP/rss"; }
start=$(date +%s.%N)
agent_kib=$(peak "$AGENT" --server "file://$TMP/d" --bundle bundle --state st --slot-backend file \
  --slot-dir slots --device-id bench --product hub --version 1.0.0 --hardware hub-v2 --once \
  --target hub/2.0.0/fw.bin)
end=$(date +%s.%N)
cmp -s slots/slot-B.img img/fw.bin || { echo "the slot does not hold the image" >&2; exit 1; }
peer_kib=$(peak sha256sum img/fw.bin)
echo "install of a $MIB MiB image: fwseal-agent peak RSS $((agent_kib / 1024)) MiB" \
  "($(echo "$end - $start" | bc) s), sha256sum peak RSS $((peer_kib / 1024)) MiB"
[ "$agent_kib" -lt $((16 * 1024)) ] && echo "under 16 MiB: yes" || echo "under 16 MiB: NO"
