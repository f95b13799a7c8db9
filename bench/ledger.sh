#!/usr/bin/env bash
# Ledger append speed: `fwseal log append --lines` writes N records of about 300 bytes durably
# (tiles, tree state, index; a signed checkpoint at least every second) in batches of BATCH.
# Prints appends per second, the time from append to the checkpoint that covers it, and the
# time of an inclusion proof (prove + verify-proof) at that size. Then the peer: the sqlite3
# command-line tool inserting the same records, BATCH per durable transaction (WAL,
# synchronous=FULL), and our rate as a ratio of its rate. Target: >= 20,000 appends/s.
# Not part of `make test`; a few minutes with the defaults.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
FWSEAL=${FWSEAL:-$here/build/fwseal}
N=${N:-1000000}
BATCH=${BATCH:-4096}
PROOFS=${PROOFS:-20}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fwseal-bench-ledger.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
command -v sqlite3 >/dev/null || { echo "sqlite3 (the command-line tool) is needed" >&2; exit 2; }

now() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }

# N provision records, about 300 bytes each, all distinct.
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) { h = sprintf("%08x", i)
  printf("{\"type\":\"provision\",\"schema\":1,\"time\":\"2024-05-01T12:%02d:%02dZ\",\"device\":\"dev-%08d\",\"serial\":\"SN%010d\",\"model\":\"Hub V2\",\"batch\":\"B%04d\",\"station\":\"line-3\",\"operator\":\"bench\",\"environment\":\"production\",\"certificate\":{\"sha256\":\"%s%s%s%s%s%s%s%s\"}}\n",
         int(i / 60) % 60, i % 60, i, i, int(i / 1000), h, h, h, h, h, h, h, h) } }' >"$tmp/records.jsonl"
bytes=$(wc -c <"$tmp/records.jsonl")
echo "records: $N, $((bytes / N)) bytes each on average, batches of $BATCH"

openssl genpkey -algorithm ed25519 -out "$tmp/log.pem" 2>/dev/null
VKEY=$("$FWSEAL" log init --dir "$tmp/log" --origin bench.example/ledger --key "$tmp/log.pem")
sync

# ---- fwseal ------------------------------------------------------------------------------------
t0=$(now)
"$FWSEAL" log append --dir "$tmp/log" --lines "$tmp/records.jsonl" --batch "$BATCH" --json \
  >"$tmp/append.json"
t1=$(now)
read -r ours lat_mean lat_max checkpoints gap < <(node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const secs = (BigInt(process.argv[3]) - BigInt(process.argv[2])) / 1000000n;
  console.log((d.appended / (Number(secs) / 1000)).toFixed(0), d.checkpointLatencyMs.mean.toFixed(0),
              d.checkpointLatencyMs.max.toFixed(0), d.checkpoints, d.checkpointGapMs.max.toFixed(0))' \
  "$tmp/append.json" "$t0" "$t1")
echo "fwseal log append: $(ms "$t0" "$t1") ms for $N records: $ours appends/s (durable), $checkpoints checkpoints (longest gap $gap ms)"
echo "append to checkpoint: mean $lat_mean ms, max $lat_max ms"
size=$(sed -n 2p "$tmp/log/checkpoint")
[ "$size" = "$N" ] || { echo "checkpoint covers $size entries, not $N" >&2; exit 1; }

# ---- inclusion proofs at that size ---------------------------------------------------------------
prove_ms=() verify_ms=()
for k in $(seq 1 "$PROOFS"); do
  idx=$(( (RANDOM * 32768 + RANDOM) % N ))
  rm -f "$tmp/p.tlog-proof" "$tmp/p.entry"
  a=$(now)
  "$FWSEAL" log prove --dir "$tmp/log" --index "$idx" --vkey "$VKEY" --out "$tmp/p.tlog-proof" \
    --entry-out "$tmp/p.entry" >/dev/null
  b=$(now)
  "$FWSEAL" log verify-proof --vkey "$VKEY" --proof "$tmp/p.tlog-proof" "$tmp/p.entry" >/dev/null
  c=$(now)
  prove_ms+=("$(ms "$a" "$b")") verify_ms+=("$(ms "$b" "$c")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "inclusion proof at size $N (whole command, process start included): prove median $(median "${prove_ms[@]}") ms, verify-proof median $(median "${verify_ms[@]}") ms"

# ---- the peer: sqlite3 inserting the same records ---------------------------------------------------
awk -v b="$BATCH" 'BEGIN { print "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
    print "CREATE TABLE records(idx INTEGER PRIMARY KEY, body TEXT NOT NULL);" }
  (NR - 1) % b == 0 { print "BEGIN;" }
  { printf("INSERT INTO records(body) VALUES('"'"'%s'"'"');\n", $0) }
  NR % b == 0 { print "COMMIT;" }
  END { if (NR % b != 0) print "COMMIT;" }' "$tmp/records.jsonl" >"$tmp/insert.sql"
sync
t2=$(now)
sqlite3 "$tmp/peer.sqlite" <"$tmp/insert.sql" >/dev/null
t3=$(now)
rows=$(sqlite3 "$tmp/peer.sqlite" "SELECT count(*) FROM records")
[ "$rows" = "$N" ] || { echo "sqlite3 inserted $rows rows, not $N" >&2; exit 1; }
peer=$(awk -v n="$N" -v a="$t2" -v b="$t3" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')
echo "sqlite3 inserts: $(ms "$t2" "$t3") ms for $N records: $peer inserts/s (durable per batch)"
awk -v o="$ours" -v p="$peer" 'BEGIN {
  printf "ratio fwseal/sqlite3: %.2f; target >= 20000 appends/s: %s\n", o / p, (o >= 20000 ? "met" : "NOT met") }'
