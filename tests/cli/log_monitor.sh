#!/usr/bin/env bash
# fwseal log monitor: follows a log from a directory and over HTTP, proves each checkpoint
# consistent with the last one verified, recomputes the tree from the entries, and exits 1 on
# a fork, a bad signature or tiles that disagree with the entries, without moving its state.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
L=$TMP/log
S=$TMP/mstate

serve() { # serve DIR -> sets URL (a static HTTP server on 127.0.0.1, random free port)
  rm -f "$TMP/port"
  node -e '
    const http = require("http"), fs = require("fs"), path = require("path");
    const root = path.resolve(process.argv[1]);
    const srv = http.createServer((req, res) => {
      const p = path.join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
      if (!p.startsWith(root + path.sep)) { res.writeHead(403); return res.end(); }
      fs.readFile(p, (err, data) => {
        if (err) { res.writeHead(404); return res.end(); }
        res.writeHead(200); res.end(data);
      });
    });
    srv.listen(0, "127.0.0.1", () => fs.writeFileSync(process.argv[2], String(srv.address().port)));
  ' "$1" "$TMP/port" &
  SERVER=$!
  for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
  [ -s "$TMP/port" ] || fail "the HTTP server did not start"
  URL=http://127.0.0.1:$(cat "$TMP/port")
}
trap 'kill "${SERVER:-}" 2>/dev/null; cleanup' EXIT

records() { # records PREFIX FROM TO
  for i in $(seq "$2" "$3"); do
    printf '{"type":"decommission","schema":1,"time":"2024-05-01T12:00:00Z","device":"%s-%d","reason":"r"}\n' "$1" "$i"
  done
}

"$FWSEAL" key gen --type ed25519 --out "$TMP/log.pem" >/dev/null
"$FWSEAL" key gen --type ed25519 --out "$TMP/other.pem" >/dev/null
VKEY=$("$FWSEAL" log init --dir "$L" --origin example.com/monitored --key "$TMP/log.pem")
echo "$VKEY" >"$TMP/vkey"

expect_exit 0 "$FWSEAL" log monitor --help
grep -q "usage: fwseal log monitor" "$TMP/stdout" || fail "no usage"
expect_exit 2 "$FWSEAL" log monitor --vkey "$VKEY" --state "$S" --dir "$L" --count 2
expect_stderr "--count needs --interval"

# first pass: the empty log; then 700 entries, all re-hashed
expect_exit 0 "$FWSEAL" log monitor --vkey "$TMP/vkey" --state "$S" --dir "$L"
grep -q "size 0 (was 0): 0 new entries verified" "$TMP/stdout" || fail "first pass: $(cat "$TMP/stdout")"
records a 1 700 | "$FWSEAL" log append --dir "$L" --lines - >/dev/null
expect_exit 0 "$FWSEAL" log monitor --vkey "$VKEY" --state "$S" --dir "$L" --records
grep -q "size 700 (was 0): 700 new entries verified" "$TMP/stdout" || fail "pass 2: $(cat "$TMP/stdout")"
expect_exit 0 "$FWSEAL" log monitor --vkey "$VKEY" --state "$S" --dir "$L"
grep -q "size 700, no new entries" "$TMP/stdout" || fail "pass 3: $(cat "$TMP/stdout")"

# over HTTP, looping: the log grows between passes
serve "$L"
records a 701 1200 | "$FWSEAL" log append --dir "$L" --lines - >/dev/null
expect_exit 0 "$FWSEAL" log monitor --vkey "$VKEY" --state "$S" --url "$URL" --interval 1 \
  --count 2 --json
grep -q '"newSize": 1200' "$TMP/stdout" && grep -q '"entriesVerified": 500' "$TMP/stdout" ||
  fail "monitor --url: $(cat "$TMP/stdout")"
state=$(ls "$S"/*.checkpoint)
cp "$state" "$TMP/state.before"

# an entry changed after its tile was written: caught, state kept, exit 1
records a 1201 2000 | "$FWSEAL" log append --dir "$L" --lines - >/dev/null
cp "$L/tile/entries/006" "$TMP/bundle.saved"
flip_bit "$L/tile/entries/006" 100
expect_exit 1 "$FWSEAL" log monitor --vkey "$VKEY" --state "$S" --url "$URL"
expect_stderr "tile 0/6 disagrees with the entries"
cmp -s "$state" "$TMP/state.before" || fail "a failed pass moved the monitor state"
cp "$TMP/bundle.saved" "$L/tile/entries/006"
expect_exit 0 "$FWSEAL" log monitor --vkey "$VKEY" --state "$S" --dir "$L"
grep -q "size 2000 (was 1200): 800 new entries verified" "$TMP/stdout" || fail "after repair: $(cat "$TMP/stdout")"

# a fork: the same key and origin with another history
"$FWSEAL" log init --dir "$TMP/fork" --origin example.com/monitored --key "$TMP/log.pem" >/dev/null
records b 1 2100 | "$FWSEAL" log append --dir "$TMP/fork" --lines - >/dev/null
expect_exit 1 "$FWSEAL" log monitor --vkey "$VKEY" --state "$S" --dir "$TMP/fork"
expect_stderr "^fwseal log monitor: fork: checkpoint at size 2100 has root"
# a checkpoint signed by another key
"$FWSEAL" log init --dir "$TMP/imp" --origin example.com/monitored --key "$TMP/other.pem" >/dev/null
expect_exit 1 "$FWSEAL" log monitor --vkey "$VKEY" --state "$S" --dir "$TMP/imp"
expect_stderr "not signed by the log key"
# a looping monitor stops at the first failed check too
expect_exit 1 "$FWSEAL" log monitor --vkey "$VKEY" --state "$S" --dir "$TMP/fork" --interval 1
expect_exit 0 "$FWSEAL" log monitor --vkey "$VKEY" --state "$S" --dir "$L"
grep -q "size 2000, no new entries" "$TMP/stdout" || fail "state after refusals: $(cat "$TMP/stdout")"
finish
