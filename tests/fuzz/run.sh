#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed time: run.sh BINARY SECONDS SEED_DIR
# New inputs go to a scratch corpus beside the binary; the committed seeds are only read.
set -euo pipefail
bin=$1 secs=$2 seeds=$3
work="${bin}-corpus"
mkdir -p "$work"
args=("$work")
[ -d "$seeds" ] && args+=("$seeds")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
exec "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="${bin}-" "${args[@]}"
