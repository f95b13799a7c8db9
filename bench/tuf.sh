#!/usr/bin/env bash
# TUF client: a fresh refresh plus one target lookup and download, `fwseal tuf-client` against
# tuf-js, on the same repositories (1,000, 10,000 and 100,000 targets in TAP 15 hash bins,
# written with @tufjs/models) served over HTTP on 127.0.0.1. Each client starts from an
# empty metadata directory holding only the trusted root. Wall time from `date +%s%N`, peak
# RSS from `/usr/bin/time -f %M`; medians of RUNS runs (default 3), alternating the clients.
# Targets: fwseal at least 10x faster and 10x leaner than tuf-js at 10,000 targets, and
# fwseal's time nearly flat from 10,000 to 100,000 targets.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
FWSEAL=${FWSEAL:-$here/build/fwseal}
RUNS=${RUNS:-3}
SIZES=${SIZES:-"1000 10000 100000"}
interop="$here/tests/interop"
[ -x /usr/bin/time ] || { echo "bench/tuf.sh needs /usr/bin/time (Debian package 'time')" >&2; exit 2; }
[ -d "$interop/node_modules/tuf-js" ] || { echo "run scripts/setup first (tuf-js missing)" >&2; exit 2; }
tmp=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

node "$interop/tuf_client_bench.mjs" serve "$tmp" >"$tmp/url" &
server_pid=$!
for _ in $(seq 50); do [ -s "$tmp/url" ] && break; sleep 0.1; done
base=$(cat "$tmp/url")

now() { date +%s%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run_one NAME CMD...: prints "MICROSECONDS KIB" for one run of CMD.
run_one() {
  local t0 t1
  shift
  t0=$(now)
  /usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
  t1=$(now)
  echo "$(( (t1 - t0) / 1000 )) $(tail -n 1 "$tmp/rss")"
}

declare -A flat
for n in $SIZES; do
  repo="$tmp/r$n"
  pick=$(node "$interop/tuf_client_bench.mjs" build "$repo" "$n")
  # the freshly written repository must reach the disk first: otherwise its write-back lands
  # inside the first client's fsyncs and is counted against it
  sync
  murl="$base/r$n/metadata" turl="$base/r$n/targets"
  ft=() fm=() jt=() jm=()
  for i in $(seq 1 "$RUNS"); do
    rm -rf "$tmp/c" && mkdir -p "$tmp/c/f" "$tmp/c/j"
    cp "$repo/metadata/1.root.json" "$tmp/c/f/root.json"
    cp "$repo/metadata/1.root.json" "$tmp/c/j/root.json"
    read -r t m < <(run_one fwseal "$FWSEAL" tuf-client --metadata-dir "$tmp/c/f" \
      --metadata-url "$murl" --target-name "$pick" --target-base-url "$turl" \
      --target-dir "$tmp/c/ft" download)
    ft+=("$t") fm+=("$m")
    read -r t m < <(run_one tuf-js node "$interop/tuf_client_bench.mjs" tufjs "$tmp/c/j" \
      "$murl" "$tmp/c/jt" "$turl" "$pick")
    jt+=("$t") jm+=("$m")
    cmp -s "$tmp/c/ft/$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$pick")" \
      "$tmp/c/jt/$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$pick")" ||
      { echo "the two clients stored different bytes" >&2; exit 1; }
    awk -v n="$n" -v i="$i" -v a="${ft[-1]}" -v b="${jt[-1]}" -v c="${fm[-1]}" -v d="${jm[-1]}" \
      'BEGIN { printf "%7d targets, run %d: fwseal %7.1f ms %7d KiB   tuf-js %7.1f ms %7d KiB\n", n, i, a/1000, c, b/1000, d }'
  done
  mft=$(median "${ft[@]}") mfm=$(median "${fm[@]}") mjt=$(median "${jt[@]}") mjm=$(median "${jm[@]}")
  flat[$n]=$mft
  awk -v n="$n" -v a="$mft" -v b="$mjt" -v c="$mfm" -v d="$mjm" 'BEGIN {
    printf "%7d targets, median: fwseal %.1f ms, %d KiB peak; tuf-js %.1f ms, %d KiB peak\n", n, a/1000, c, b/1000, d
    printf "%7d targets, ratio tuf-js/fwseal: time %.1fx, peak memory %.1fx (target >= 10x at 10,000)\n", n, b/a, d/c }'
done
if [ -n "${flat[10000]:-}" ] && [ -n "${flat[100000]:-}" ]; then
  awk -v a="${flat[10000]}" -v b="${flat[100000]}" 'BEGIN {
    printf "fwseal time, 100,000 vs 10,000 targets: %.2fx (nearly flat is the target)\n", b/a }'
fi
