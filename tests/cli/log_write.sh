#!/usr/bin/env bash
# fwseal log init | append | checkpoint | get | search: a record log and an any-entries log,
# bulk import, deduplication, and bad input refused with one line naming the problem while
# nothing already appended is lost or altered.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
L=$TMP/log
D64=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

for c in init append checkpoint get search; do
  expect_exit 0 "$FWSEAL" log "$c" --help
  grep -q "usage: fwseal log $c" "$TMP/stdout" || fail "log $c --help prints no usage"
done
expect_exit 0 "$FWSEAL" log --help
grep -q witness "$TMP/stdout" && grep -q monitor "$TMP/stdout" || fail "log --help lists no witness/monitor"

"$FWSEAL" key gen --type ed25519 --out "$TMP/log.pem" >/dev/null
"$FWSEAL" key gen --type ed25519 --out "$TMP/other.pem" >/dev/null
"$FWSEAL" key gen --type p256 --out "$TMP/p256.pem" >/dev/null

# init prints the vkey; refuses a non-empty directory, a P-256 key, a missing key
expect_exit 0 "$FWSEAL" log init --dir "$L" --origin example.com/firmware --key "$TMP/log.pem"
VKEY=$(cat "$TMP/stdout")
[[ $VKEY == example.com/firmware+*+* ]] || fail "init printed no vkey: $VKEY"
echo "$VKEY" >"$TMP/vkey"
expect_exit 2 "$FWSEAL" log init --dir "$L" --origin example.com/firmware --key "$TMP/log.pem"
expect_stderr "not empty"
expect_exit 2 "$FWSEAL" log init --dir "$TMP/p" --origin example.com/p --key "$TMP/p256.pem"
expect_stderr "Ed25519"
expect_exit 2 "$FWSEAL" log init --dir "$TMP/x" --origin example.com/x --key "$TMP/nokey.pem"
expect_exit 2 "$FWSEAL" log init --dir "$TMP/y" --origin "bad origin" --key "$TMP/log.pem"
expect_stderr "origin"
expect_exit 2 "$FWSEAL" log init --dir "$TMP/z" --origin example.com/z
expect_stderr "required"

record() { # record DEVICE [REASON]
  printf '{"type":"decommission","schema":1,"time":"2024-05-01T12:00:00Z","device":"%s","reason":"%s"}' \
    "$1" "${2:-returned}"
}

# one record from a file, one from stdin; the same record again keeps its index
record dev-a >"$TMP/a.json"
expect_exit 0 "$FWSEAL" log append --dir "$L" "$TMP/a.json"
[ "$(cat "$TMP/stdout")" = 0 ] || fail "first index: $(cat "$TMP/stdout")"
record dev-b | expect_exit 0 "$FWSEAL" log append --dir "$L" -
[ "$(cat "$TMP/stdout")" = 1 ] || fail "second index: $(cat "$TMP/stdout")"
printf ' {\n "reason":"returned", "device":"dev-a",\n"time":"2024-05-01T12:00:00Z","schema":1,"type":"decommission"}\n' \
  >"$TMP/a2.json"
expect_exit 0 "$FWSEAL" log append --dir "$L" "$TMP/a2.json" --json
[ "$(json_get "$TMP/stdout" d.index)" = 0 ] && [ "$(json_get "$TMP/stdout" d.duplicate)" = true ] ||
  fail "a record spelled differently is not the same entry: $(cat "$TMP/stdout")"

# the stored form is canonical
expect_exit 0 "$FWSEAL" log get --dir "$L" 0
[ "$(cat "$TMP/stdout")" = '{"device":"dev-a","reason":"returned","schema":1,"time":"2024-05-01T12:00:00Z","type":"decommission"}' ] ||
  fail "entry 0 is not canonical: $(cat "$TMP/stdout")"

# bad input: one line on stderr naming the problem, nothing appended
size_before=$("$FWSEAL" log checkpoint --dir "$L" | sed -n 2p)
bad() { # bad REGEX CONTENT
  printf '%s' "$2" >"$TMP/bad.json"
  expect_exit 2 "$FWSEAL" log append --dir "$L" "$TMP/bad.json"
  expect_stderr "$1"
  [ "$(wc -l <"$TMP/stderr")" = 1 ] || fail "more than one line on stderr: $(cat "$TMP/stderr")"
}
bad "not valid JSON" '{"type":"decommission",'
bad 'unknown type "firmware"' '{"type":"firmware","schema":1,"time":"2024-05-01T12:00:00Z"}'
bad 'missing field "reason"' '{"type":"decommission","schema":1,"time":"2024-05-01T12:00:00Z","device":"d"}'
bad 'unknown field "color"' "$(record d | sed 's/}$/,"color":"red"}/')"
bad '"image.sha256" must be 64 lowercase hex' '{"type":"install","schema":1,"time":"2024-05-01T12:00:00Z","device":"d","product":"p","fromVersion":"1","toVersion":"2","image":{"sha256":"ABC"},"result":"success"}'
bad '"schema" must be 1' '{"type":"decommission","schema":2,"time":"2024-05-01T12:00:00Z","device":"d","reason":"r"}'
bad 'RFC 3339' '{"type":"decommission","schema":1,"time":"yesterday","device":"d","reason":"r"}'
big=$(head -c 70000 /dev/zero | tr '\0' ' ')
bad 'record is 70[0-9]+ bytes; the cap is 65535 bytes \(64 KiB less one: entry bundles store 16-bit lengths\)' \
  "$(record d)$big"
[ "$("$FWSEAL" log checkpoint --dir "$L" | sed -n 2p)" = "$size_before" ] ||
  fail "a refused record changed the log"

# bulk import: ranges per durable batch; duplicates give their existing index
for i in $(seq 1 1000); do record "bulk-$i"; echo; done >"$TMP/lines.jsonl"
expect_exit 0 "$FWSEAL" log append --dir "$L" --lines "$TMP/lines.jsonl" --batch 300
[ "$(tr '\n' ' ' <"$TMP/stdout")" = "2..301 302..601 602..901 902..1001 " ] ||
  fail "--lines output: $(cat "$TMP/stdout")"
{ record dev-b; echo; echo; record new-1; echo; } >"$TMP/mixed.jsonl"
expect_exit 0 "$FWSEAL" log append --dir "$L" --lines "$TMP/mixed.jsonl"
[ "$(tr '\n' ' ' <"$TMP/stdout")" = "1 1002 " ] || fail "--lines with a duplicate: $(cat "$TMP/stdout")"
expect_exit 0 "$FWSEAL" log append --dir "$L" --lines "$TMP/lines.jsonl" --json
[ "$(json_get "$TMP/stdout" d.duplicates)" = 1000 ] && [ "$(json_get "$TMP/stdout" d.size)" = 1003 ] ||
  fail "--lines --json: $(cat "$TMP/stdout")"

# a bad line stops the import at its batch: earlier batches stay, the line is named
{ for i in $(seq 1 10); do record "more-$i"; echo; done; echo '{"type":"rollback"}'; record after; echo; } \
  >"$TMP/badline.jsonl"
expect_exit 2 "$FWSEAL" log append --dir "$L" --lines "$TMP/badline.jsonl" --batch 4
expect_stderr '^fwseal log append: line 11: rollback record: missing field "schema"$'
[ "$(tr '\n' ' ' <"$TMP/stdout")" = "1003..1006 1007..1010 " ] ||
  fail "batches before the bad line: $(cat "$TMP/stdout")"
expect_exit 0 "$FWSEAL" log checkpoint --dir "$L"
[ "$(sed -n 2p "$TMP/stdout")" = 1011 ] || fail "the checkpoint does not cover the kept batches"

# checkpoint, verify (read side), get, search
expect_exit 0 "$FWSEAL" log verify --vkey "$VKEY" --dir "$L"
expect_exit 0 "$FWSEAL" log get --dir "$L" --vkey "$TMP/vkey" 2..4
[ "$(wc -l <"$TMP/stdout")" = 3 ] && grep -q '"bulk-3"' "$TMP/stdout" || fail "get 2..4: $(cat "$TMP/stdout")"
expect_exit 2 "$FWSEAL" log get --dir "$L" 5000
expect_stderr "not in the log"
expect_exit 0 "$FWSEAL" log search --dir "$L" --device bulk-7
[ "$(cat "$TMP/stdout")" = 8 ] || fail "search --device: $(cat "$TMP/stdout")"
expect_exit 0 "$FWSEAL" log search --dir "$L" --type decommission --limit 3 --json
[ "$(json_get "$TMP/stdout" 'd.indexes.join()')" = "0,1,2" ] || fail "search --json: $(cat "$TMP/stdout")"
expect_exit 2 "$FWSEAL" log search --dir "$L" --type gadget

# another key cannot append (nothing is appended)
record other | expect_exit 1 "$FWSEAL" log append --dir "$L" --key "$TMP/other.pem" -
expect_stderr "not this log's key"
expect_exit 0 "$FWSEAL" log search --dir "$L" --device other
[ -z "$(cat "$TMP/stdout")" ] || fail "a refused append left an entry"

# an unencrypted PKCS#8 key (openssl genpkey) works without a passphrase
openssl genpkey -algorithm ed25519 -out "$TMP/plain.pem" 2>/dev/null
env -u FWSEAL_PASSPHRASE "$FWSEAL" log init --dir "$TMP/plain" --origin example.com/plain \
  --key "$TMP/plain.pem" --any-entries >/dev/null || fail "init with an unencrypted key"

# any-entries: raw bytes; a record log refuses them
printf 'hello\x00world' >"$TMP/raw.bin"
expect_exit 0 env -u FWSEAL_PASSPHRASE "$FWSEAL" log append --dir "$TMP/plain" "$TMP/raw.bin"
expect_exit 0 "$FWSEAL" log get --dir "$TMP/plain" 0 --json
[ "$(json_get "$TMP/stdout" 'd[0].base64')" = "aGVsbG8Ad29ybGQ=" ] || fail "raw entry: $(cat "$TMP/stdout")"
expect_exit 2 "$FWSEAL" log append --dir "$L" "$TMP/raw.bin"
expect_stderr "not valid JSON"
head -c 65536 /dev/zero >"$TMP/65536.bin"
expect_exit 2 env -u FWSEAL_PASSPHRASE "$FWSEAL" log append --dir "$TMP/plain" "$TMP/65536.bin"
expect_stderr "65536 bytes; the cap is 65535"

# a checkpoint signed by another key, a tile of the wrong width, tiles that disagree:
# refused, and the log is intact once the file is put back
cp "$L/checkpoint" "$TMP/cp.saved"
"$FWSEAL" log init --dir "$TMP/other" --origin example.com/firmware --key "$TMP/other.pem" >/dev/null
cp "$TMP/other/checkpoint" "$L/checkpoint"
record x | expect_exit 1 "$FWSEAL" log append --dir "$L" -
expect_stderr "checkpoint: not signed by this log's key"
cp "$TMP/cp.saved" "$L/checkpoint"
tile=$L/tile/0/003.p/243
[ -f "$tile" ] || fail "no partial tile $tile"
cp "$tile" "$TMP/tile.saved"
head -c 32 "$TMP/tile.saved" >"$tile"
record x | expect_exit 1 "$FWSEAL" log append --dir "$L" -
expect_stderr "hashes|width|bytes"
cp "$TMP/tile.saved" "$tile"
flip_bit "$tile" 9
record x | expect_exit 1 "$FWSEAL" log append --dir "$L" -
expect_stderr "does not match tile|disagree"
cp "$TMP/tile.saved" "$tile"
expect_exit 0 "$FWSEAL" log verify --vkey "$VKEY" --dir "$L"
grep -q "1011 entries" "$TMP/stdout" || fail "log changed: $(cat "$TMP/stdout")"

# a second appender waits for the lock, or gives up with --wait 0
if command -v flock >/dev/null; then
  flock "$L/lock" sleep 3 &
  sleep 0.5
  record y | expect_exit 2 "$FWSEAL" log append --dir "$L" --wait 0 -
  expect_stderr "locked by another appender"
  record y | expect_exit 0 "$FWSEAL" log append --dir "$L" --wait 30 -
  wait
fi
finish
