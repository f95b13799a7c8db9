#!/usr/bin/env bash
# fwseal log verify | prove | verify-proof | consistency, on the tessera log (written by another
# implementation) and on a log written by fwseal log init/append; tampering must be caught with
# exit 1 and one line naming the problem, usage and I/O trouble with exit 2.
set -uo pipefail
FWSEAL=${FWSEAL:?FWSEAL must point at the fwseal binary}
TESTDATA=${FWS_TESTDATA:?}
VKEY='example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect CODE DESCRIPTION -- command...
expect() {
    local want=$1 what=$2
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then
        fail "$what: exit $got, expected $want; stderr: $(cat "$tmp/err")"
        return 1
    fi
    if [ "$want" != 0 ] && [ "$(wc -l <"$tmp/err")" != 1 ]; then
        fail "$what: expected exactly one line on stderr, got: $(cat "$tmp/err")"
        return 1
    fi
    return 0
}

cp -r "$TESTDATA/tessera-log" "$tmp/tess" && chmod -R u+w "$tmp/tess"
T=$tmp/tess
echo "$VKEY" >"$tmp/vkey"

# --help everywhere.
for c in verify prove verify-proof consistency; do
    expect 0 "log $c --help" -- "$FWSEAL" log "$c" --help
    grep -q "usage: fwseal log $c" "$tmp/out" || fail "log $c --help prints no usage"
done

# verify: the vkey as text and as a file; JSON output.
expect 0 "verify tessera" -- "$FWSEAL" log verify --vkey "$VKEY" --dir "$T"
grep -q "15 entries checked" "$tmp/out" || fail "verify: no entry count: $(cat "$tmp/out")"
expect 0 "verify tessera --json" -- "$FWSEAL" log verify --vkey "$tmp/vkey" --dir "$T" --json
grep -q '"verified": true' "$tmp/out" && grep -q '"entries": 15' "$tmp/out" ||
    fail "verify --json: $(cat "$tmp/out")"
expect 2 "verify without --vkey" -- "$FWSEAL" log verify --dir "$T"
expect 2 "verify a missing directory" -- "$FWSEAL" log verify --vkey "$VKEY" --dir "$tmp/none"
expect 1 "verify with another origin" -- "$FWSEAL" log verify --vkey "$VKEY" --dir "$T" \
    --origin example.com/other

# prove + verify-proof for every entry; the entry bytes come from the bundle.
for i in $(seq 0 14); do
    expect 0 "prove $i" -- "$FWSEAL" log prove --dir "$T" --index "$i" --vkey "$VKEY" \
        --out "$tmp/e$i.tlog-proof" --entry-out "$tmp/e$i.bin" || continue
    expect 0 "verify-proof $i" -- "$FWSEAL" log verify-proof --vkey "$VKEY" \
        --proof "$tmp/e$i.tlog-proof" "$tmp/e$i.bin"
done
[ "$(cat "$tmp/e0.bin")" = one ] || fail "entry 0 is not 'one'"
head -1 "$tmp/e5.tlog-proof" | grep -qx 'c2sp.org/tlog-proof@v1' || fail "proof header"
expect 2 "prove refuses to overwrite" -- "$FWSEAL" log prove --dir "$T" --index 5 \
    --out "$tmp/e5.tlog-proof"
expect 0 "prove --force overwrites" -- "$FWSEAL" log prove --dir "$T" --index 5 \
    --out "$tmp/e5.tlog-proof" --force
expect 0 "prove at an older size" -- "$FWSEAL" log prove --dir "$T" --index 5 --size 9 \
    --out "$tmp/e5s9.tlog-proof"
grep -qx 9 "$tmp/e5s9.tlog-proof" || fail "the size-9 proof does not carry checkpoint.9"
expect 0 "verify-proof at an older size" -- "$FWSEAL" log verify-proof --vkey "$VKEY" \
    --proof "$tmp/e5s9.tlog-proof" "$tmp/e5.bin"
expect 2 "prove past the tree" -- "$FWSEAL" log prove --dir "$T" --index 15 --out "$tmp/x"
expect 2 "prove at a size with no checkpoint" -- "$FWSEAL" log prove --dir "$T" --index 1 \
    --size 99 --out "$tmp/x"

# Rejections: another entry, a tampered hash, an extra hash, a missing hash, another key.
expect 1 "verify-proof with another entry" -- "$FWSEAL" log verify-proof --vkey "$VKEY" \
    --proof "$tmp/e5.tlog-proof" "$tmp/e6.bin"
grep -q "not proven" "$tmp/err" || fail "another entry: $(cat "$tmp/err")"
sed '3{s/^A/#/;s/^[^#]/A/;s/^#/B/}' "$tmp/e5.tlog-proof" >"$tmp/tampered.tlog-proof"
cmp -s "$tmp/tampered.tlog-proof" "$tmp/e5.tlog-proof" && fail "tampering changed nothing"
expect 1 "verify-proof with a tampered hash" -- "$FWSEAL" log verify-proof --vkey "$VKEY" \
    --proof "$tmp/tampered.tlog-proof" "$tmp/e5.bin"
sed '3p' "$tmp/e5.tlog-proof" >"$tmp/extra.tlog-proof"
expect 1 "verify-proof with an extra hash" -- "$FWSEAL" log verify-proof --vkey "$VKEY" \
    --proof "$tmp/extra.tlog-proof" "$tmp/e5.bin"
sed '3d' "$tmp/e5.tlog-proof" >"$tmp/short.tlog-proof"
expect 1 "verify-proof with a missing hash" -- "$FWSEAL" log verify-proof --vkey "$VKEY" \
    --proof "$tmp/short.tlog-proof" "$tmp/e5.bin"
OTHER='example.com/log/testdata+00000000+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx'
expect 1 "verify-proof with a vkey whose ID is wrong" -- "$FWSEAL" log verify-proof \
    --vkey "$OTHER" --proof "$tmp/e5.tlog-proof" "$tmp/e5.bin"
expect 2 "verify-proof of a missing file" -- "$FWSEAL" log verify-proof --vkey "$VKEY" \
    --proof "$tmp/none.tlog-proof" "$tmp/e5.bin"
expect 1 "verify-proof --json failure" -- "$FWSEAL" log verify-proof --vkey "$VKEY" --json \
    --proof "$tmp/e5.tlog-proof" "$tmp/e6.bin"
grep -q '"verified": false' "$tmp/out" || fail "verify-proof --json failure output"

# consistency: one base64 hash per line; none from 0; --from > --to is a usage error.
expect 0 "consistency 5..9" -- "$FWSEAL" log consistency --dir "$T" --from 5 --to 9
[ "$(wc -l <"$tmp/out")" = 5 ] || fail "consistency 5..9: $(cat "$tmp/out")"
grep -qvE '^[A-Za-z0-9+/]{43}=$' "$tmp/out" && fail "consistency: not base64 hashes"
expect 0 "consistency 4..15" -- "$FWSEAL" log consistency --dir "$T" --from 4
[ "$(wc -l <"$tmp/out")" = 2 ] || fail "consistency 4..15: $(cat "$tmp/out")"
expect 0 "consistency 0..15" -- "$FWSEAL" log consistency --dir "$T" --from 0
[ -s "$tmp/out" ] && fail "consistency from 0 printed hashes"
expect 2 "consistency 10..9" -- "$FWSEAL" log consistency --dir "$T" --from 10 --to 9

# Tampering with the log itself.
cp "$T/tile/0/000.p/15" "$tmp/tile.bak"
head -c 479 "$tmp/tile.bak" >"$T/tile/0/000.p/15"
expect 1 "verify a truncated tile" -- "$FWSEAL" log verify --vkey "$VKEY" --dir "$T"
grep -q "tile/0/000.p/15" "$tmp/err" || fail "truncated tile not named: $(cat "$tmp/err")"
cat "$tmp/tile.bak" "$tmp/tile.bak" | head -c 512 >"$T/tile/0/000.p/15"
expect 1 "verify a tile of the wrong width" -- "$FWSEAL" log verify --vkey "$VKEY" --dir "$T"
cp "$tmp/tile.bak" "$T/tile/0/000.p/15"
printf 'X' | dd of="$T/tile/entries/000.p/15" bs=1 seek=2 conv=notrunc status=none
expect 1 "verify a changed entry" -- "$FWSEAL" log verify --vkey "$VKEY" --dir "$T"
grep -q "entry 0" "$tmp/err" || fail "changed entry not named: $(cat "$tmp/err")"
cp "$TESTDATA/tessera-log/tile/entries/000.p/15" "$T/tile/entries/000.p/15"
sed '3s/^r/s/' "$TESTDATA/tessera-log/checkpoint" >"$T/checkpoint"
expect 1 "verify a changed checkpoint" -- "$FWSEAL" log verify --vkey "$VKEY" --dir "$T"
grep -q "does not verify" "$tmp/err" || fail "bad signature not named: $(cat "$tmp/err")"
cp "$TESTDATA/tessera-log/checkpoint" "$T/checkpoint"
rm "$T/tile/0/000.p/15"
expect 2 "verify with a missing tile" -- "$FWSEAL" log verify --vkey "$VKEY" --dir "$T"

# A log written by fwseal itself (init/append), a few tiles wide.
if "$FWSEAL" log init --help >/dev/null 2>&1; then
    L=$tmp/own
    openssl genpkey -algorithm ed25519 -out "$tmp/log.pem" 2>/dev/null || fail "openssl genpkey"
    expect 0 "log init" -- "$FWSEAL" log init --dir "$L" --origin example.com/fwseal-read-test \
        --key "$tmp/log.pem" --any-entries && cp "$tmp/out" "$tmp/own.vkey"
    seq 1 700 | sed 's/^/record /' >"$tmp/lines"
    expect 0 "log append" -- "$FWSEAL" log append --dir "$L" --lines "$tmp/lines" --batch 256
    expect 0 "verify own log" -- "$FWSEAL" log verify --vkey "$tmp/own.vkey" --dir "$L"
    grep -q "700 entries checked" "$tmp/out" || fail "own log: $(cat "$tmp/out")"
    expect 0 "prove in own log" -- "$FWSEAL" log prove --dir "$L" --index 600 \
        --out "$tmp/own.tlog-proof" --entry-out "$tmp/own600.bin"
    [ "$(cat "$tmp/own600.bin")" = "record 601" ] || fail "own entry 600: $(cat "$tmp/own600.bin")"
    expect 0 "verify-proof in own log" -- "$FWSEAL" log verify-proof --vkey "$tmp/own.vkey" \
        --proof "$tmp/own.tlog-proof" "$tmp/own600.bin"
    expect 0 "consistency in own log" -- "$FWSEAL" log consistency --dir "$L" --from 300
else
    echo "note: fwseal log init is not available; skipped the fwseal-written log"
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "log_read: all checks passed"
