#!/usr/bin/env bash
# @sigstore/verify must accept fwseal's signed checkpoints and inclusion proofs (and reject
# tampered ones). A log is written with fwseal log init/append; one of its entries is a Rekor
# hashedrekord body for an artifact signature; fwseal log prove writes its tlog-proof, which
# sigstore_checkpoint.mjs turns into a Sigstore bundle's transparency-log entry and verifies.
set -euo pipefail
FWSEAL=${FWSEAL:?FWSEAL must point at the fwseal binary}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -d "$here/node_modules/@sigstore/verify" ]; then
    echo "sigstore_checkpoint: @sigstore/verify is not installed (run npm ci in tests/interop)"
    exit 1
fi

openssl genpkey -algorithm ed25519 -out "$tmp/log.pem" 2>/dev/null
"$FWSEAL" log init --dir "$tmp/log" --origin example.com/fwseal-interop --key "$tmp/log.pem" \
    --any-entries >"$tmp/vkey"
vkey=$(cat "$tmp/vkey")

# Some entries before and after, so the proof is a real path through several levels.
seq 1 300 | sed 's/^/filler /' >"$tmp/before"
seq 301 611 | sed 's/^/filler /' >"$tmp/after"
"$FWSEAL" log append --dir "$tmp/log" --lines "$tmp/before" >/dev/null
node "$here/sigstore_checkpoint.mjs" prepare "$tmp"
index=$("$FWSEAL" log append --dir "$tmp/log" "$tmp/body.json" --json |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);
const v=j.index ?? j.indexes?.[0] ?? j.first;if(v===undefined)process.exit(1);console.log(v)})')
"$FWSEAL" log append --dir "$tmp/log" --lines "$tmp/after" >/dev/null
echo "hashedrekord body is entry $index"

"$FWSEAL" log verify --vkey "$vkey" --dir "$tmp/log"
"$FWSEAL" log prove --dir "$tmp/log" --vkey "$vkey" --index "$index" --out "$tmp/e.tlog-proof" \
    --entry-out "$tmp/entry.bin"
cmp -s "$tmp/entry.bin" "$tmp/body.json" || { echo "the logged entry is not body.json"; exit 1; }
"$FWSEAL" log verify-proof --vkey "$vkey" --proof "$tmp/e.tlog-proof" "$tmp/entry.bin"
node "$here/sigstore_checkpoint.mjs" verify "$tmp" "$vkey" "$tmp/e.tlog-proof" "$tmp/entry.bin"
echo "sigstore_checkpoint: passed"
