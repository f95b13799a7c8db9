#!/usr/bin/env bash
# Image verification speed: `fwseal verify` on a 256 MiB image against `openssl dgst -sha256` on
# the same file, alternated five times each (the file stays in the page cache). Prints every
# run, the medians, and the median ratio fwseal/openssl. Target: at most 1.05.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
FWSEAL=${FWSEAL:-$here/build/fwseal}
SIZE_MB=${SIZE_MB:-256}
RUNS=${RUNS:-5}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export FWSEAL_PASSPHRASE=bench

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$tmp/image.bin"
"$FWSEAL" key gen --type ed25519 --out "$tmp/k.pem" --pub "$tmp/k.pub" >/dev/null
"$FWSEAL" sign --key "$tmp/k.pem" --out "$tmp/image.dsse.json" "$tmp/image.bin" >/dev/null
openssl dgst -sha256 "$tmp/image.bin" >/dev/null # warm the cache

now() { date +%s%N; }
ours=() peer=()
for i in $(seq 1 "$RUNS"); do
  t0=$(now)
  "$FWSEAL" verify --pub "$tmp/k.pub" --sig "$tmp/image.dsse.json" "$tmp/image.bin" >/dev/null
  t1=$(now)
  openssl dgst -sha256 "$tmp/image.bin" >/dev/null
  t2=$(now)
  ours+=($(( (t1 - t0) / 1000 ))) peer+=($(( (t2 - t1) / 1000 )))
  awk -v i="$i" -v a="${ours[-1]}" -v b="${peer[-1]}" \
    'BEGIN { printf "run %d: fwseal verify %8.1f ms   openssl dgst -sha256 %8.1f ms\n", i, a / 1000, b / 1000 }'
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mo=$(median "${ours[@]}") mp=$(median "${peer[@]}")
awk -v o="$mo" -v p="$mp" -v mb="$SIZE_MB" 'BEGIN {
  printf "median: fwseal verify %.1f ms (%.0f MiB/s), openssl dgst -sha256 %.1f ms (%.0f MiB/s)\n",
         o / 1000, mb * 1e6 / o, p / 1000, mb * 1e6 / p
  printf "ratio fwseal/openssl: %.3f (target <= 1.05)\n", o / p }'
