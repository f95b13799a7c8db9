#!/usr/bin/env bash
# Crash safety: `fwseal log append --lines` is killed with SIGKILL at random moments, at least
# 50 times, while it appends small batches to one log. After each restart every index it had
# acknowledged (printed once its batch was durable) must hold exactly the bytes it was given;
# at the end every acknowledgement is checked again and the whole log verifies.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
L=$TMP/log
KILLS=${FWS_CRASH_KILLS:-50}
LINES=3000

# an unencrypted key: no passphrase work at each start
openssl genpkey -algorithm ed25519 -out "$TMP/log.pem" 2>/dev/null
VKEY=$("$FWSEAL" log init --dir "$L" --origin example.com/crash --key "$TMP/log.pem")

# Records in canonical form, unique per run: what is stored is exactly the line.
make_input() {
  awk -v run="$1" -v n="$LINES" 'BEGIN { for (i = 0; i < n; i++)
    printf("{\"device\":\"c-%d-%d\",\"reason\":\"crash test\",\"schema\":1,\"time\":\"2024-05-01T12:00:00Z\",\"type\":\"decommission\"}\n", run, i) }' \
    >"$TMP/in"
}

# Expands the acknowledgements ("A..B" or "I", one per batch, in input order) into
# "INDEX<TAB>LINE" pairs for the lines of the input. Only complete lines count: a kill can cut
# the last one short (a write may stop at a page boundary when SIGKILL arrives).
acked_pairs() {
  if [ -n "$(tail -c1 "$1")" ]; then head -n -1 "$1" >"$1.complete"; else cp "$1" "$1.complete"; fi
  awk 'NR == FNR { line[FNR] = $0; next }
       { if (index($0, "..")) { split($0, r, "\\.\\."); a = r[1]; b = r[2] } else { a = $0; b = $0 }
         for (i = a; i <= b; i++) { k++; printf("%d\t%s\n", i, line[k]) } }' "$TMP/in" "$1.complete"
}

# Checks that every pair of $1 is in the log: fetches the range through `log get`, which
# proves each entry against the signed checkpoint.
check_pairs() {
  local first last
  [ -s "$1" ] || return 0
  first=$(awk -F'\t' 'NR == 1 || $1 < m { m = $1 } END { print m }' "$1")
  last=$(awk -F'\t' 'NR == 1 || $1 > m { m = $1 } END { print m }' "$1")
  "$FWSEAL" log get --dir "$L" --vkey "$VKEY" "$first..$last" >"$TMP/got" 2>"$TMP/get.err" ||
    fail "log get $first..$last: $(cat "$TMP/get.err")"
  awk -F'\t' -v first="$first" 'NR == FNR { want[$1] = $2; n++; next }
       { idx = first + FNR - 1; if (idx in want) { if (want[idx] != $0) { print "index " idx " holds " $0 " not " want[idx]; bad = 1 } ; seen++ } }
       END { if (seen != n) { print "only " seen " of " n " acknowledged entries found"; bad = 1 }; exit bad }' \
    "$1" "$TMP/got" || fail "acknowledged entries lost or altered (see above)"
}

kills=0 runs=0
: >"$TMP/all"
while [ "$kills" -lt "$KILLS" ] && [ "$runs" -lt $((KILLS * 2)) ]; do
  runs=$((runs + 1))
  make_input "$runs"
  "$FWSEAL" log append --dir "$L" --lines "$TMP/in" --batch 16 >"$TMP/out" 2>"$TMP/err" &
  pid=$!
  # odd runs: a random moment from the start (startup, recovery, appends);
  # even runs: a random moment once appends are under way
  if [ $((runs % 2)) = 0 ]; then
    for _ in $(seq 500); do [ -s "$TMP/out" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.01; done
  fi
  sleep "0.$(printf '%03d' $((RANDOM % 191 + 10)))"
  if kill -9 "$pid" 2>/dev/null; then
    kills=$((kills + 1))
  fi
  wait "$pid" 2>/dev/null || true
  acked_pairs "$TMP/out" >"$TMP/pairs"
  cat "$TMP/pairs" >>"$TMP/all"
  # restart: the log opens, recovers to its durable size and signs a checkpoint for it
  "$FWSEAL" log checkpoint --dir "$L" >"$TMP/cp" 2>"$TMP/cp.err" || fail "restart: $(cat "$TMP/cp.err")"
  check_pairs "$TMP/pairs"
done
[ "$kills" -ge "$KILLS" ] || fail "only $kills kills landed in $runs runs"

# no index was acknowledged twice, every acknowledgement holds, and the log verifies
dups=$(awk -F'\t' 'seen[$1]++ == 1 { print $1 }' "$TMP/all")
[ -z "$dups" ] || fail "indexes acknowledged twice: $dups"
check_pairs "$TMP/all"
"$FWSEAL" log verify --vkey "$VKEY" --dir "$L" >"$TMP/verify" 2>&1 || fail "verify: $(cat "$TMP/verify")"
# and the log still takes appends
echo '{"device":"after","reason":"r","schema":1,"time":"2024-05-01T12:00:00Z","type":"decommission"}' |
  "$FWSEAL" log append --dir "$L" - >/dev/null || fail "append after the crashes"
echo "$kills kills in $runs runs; $(wc -l <"$TMP/all") acknowledged entries checked; $(cat "$TMP/verify")"
