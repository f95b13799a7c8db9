#!/usr/bin/env bash
# fwseal log witness: cosigns a log's checkpoint after proving it consistent with the last one
# it cosigned, from a directory or over HTTP; k-of-n cosignatures verify with `log verify`;
# a fork, a rollback and a checkpoint signed by another key are refused (exit 1) and the
# witness state does not move.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
L=$TMP/log
F=$TMP/fork
W=$TMP/wstate

# A static HTTP server for a directory on 127.0.0.1 (a random free port).
serve() { # serve DIR -> sets URL
  rm -f "$TMP/port"
  node -e '
    const http = require("http"), fs = require("fs"), path = require("path");
    const root = path.resolve(process.argv[1]);
    const srv = http.createServer((req, res) => {
      const p = path.join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
      if (!p.startsWith(root + path.sep)) { res.writeHead(403); return res.end(); }
      fs.readFile(p, (err, data) => {
        if (err) { res.writeHead(404); return res.end(); }
        res.writeHead(200, {"content-type": "application/octet-stream"}); res.end(data);
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

lines() { # lines PREFIX FROM TO
  for i in $(seq "$2" "$3"); do printf '%s-%d\n' "$1" "$i"; done
}

"$FWSEAL" key gen --type ed25519 --out "$TMP/log.pem" >/dev/null
"$FWSEAL" key gen --type ed25519 --out "$TMP/w1.pem" >/dev/null
"$FWSEAL" key gen --type ed25519 --out "$TMP/w2.pem" >/dev/null
"$FWSEAL" key gen --type ed25519 --out "$TMP/other.pem" >/dev/null
VKEY=$("$FWSEAL" log init --dir "$L" --origin example.com/witnessed --key "$TMP/log.pem" --any-entries)
"$FWSEAL" log init --dir "$F" --origin example.com/witnessed --key "$TMP/log.pem" --any-entries >/dev/null
lines a 1 300 | "$FWSEAL" log append --dir "$L" --lines - >/dev/null

expect_exit 0 "$FWSEAL" log witness --help
grep -q "usage: fwseal log witness" "$TMP/stdout" || fail "no usage"
expect_exit 0 "$FWSEAL" log witness --key "$TMP/w1.pem" --show-vkey
W1=$(cat "$TMP/stdout")
[[ $W1 == witness-*+*+* ]] || fail "witness vkey: $W1"
expect_exit 0 "$FWSEAL" log witness --key "$TMP/w2.pem" --name w2.example --show-vkey
W2=$(cat "$TMP/stdout")
expect_exit 2 "$FWSEAL" log witness --key "$TMP/w1.pem" --state "$W" --vkey "$VKEY"
expect_stderr "one of --dir or --url"

# first sight: cosigned, printed, merged into the log's checkpoint
expect_exit 0 "$FWSEAL" log witness --key "$TMP/w1.pem" --state "$W" --vkey "$VKEY" --dir "$L"
grep -q "^— witness-" "$TMP/stdout" || fail "no cosignature line: $(cat "$TMP/stdout")"
grep -q "^— witness-" "$L/checkpoint" || fail "cosignature not merged into the log"
expect_exit 0 "$FWSEAL" log verify --vkey "$VKEY" --dir "$L" --witness "$W1" --threshold 1
expect_exit 1 "$FWSEAL" log verify --vkey "$VKEY" --dir "$L" --witness "$W1" --witness "$W2" \
  --threshold 2
expect_exit 0 "$FWSEAL" log witness --key "$TMP/w2.pem" --name w2.example --state "$W" \
  --vkey "$VKEY" --dir "$L" --out "$TMP/cosigned"
[ -s "$TMP/cosigned" ] && [ ! -s "$TMP/stdout" ] || fail "--out: nothing written or printed too"
expect_exit 0 "$FWSEAL" log verify --vkey "$VKEY" --dir "$L" --witness "$W1" --witness "$W2" \
  --threshold 2

# the log grows: a consistency proof from 300 to 1000; the same checkpoint again is fine
lines a 301 1000 | "$FWSEAL" log append --dir "$L" --lines - >/dev/null
expect_exit 0 "$FWSEAL" log witness --key "$TMP/w1.pem" --state "$W" --vkey "$VKEY" --dir "$L" --json
[ "$(json_get "$TMP/stdout" d.oldSize)" = 300 ] && [ "$(json_get "$TMP/stdout" d.newSize)" = 1000 ] &&
  [ "$(json_get "$TMP/stdout" d.merged)" = true ] || fail "witness --json: $(cat "$TMP/stdout")"
expect_exit 0 "$FWSEAL" log witness --key "$TMP/w1.pem" --state "$W" --vkey "$VKEY" --dir "$L"

# over HTTP (nothing to merge into)
lines a 1001 1300 | "$FWSEAL" log append --dir "$L" --lines - >/dev/null
serve "$L"
expect_exit 0 "$FWSEAL" log witness --key "$TMP/w1.pem" --state "$W" --vkey "$VKEY" --url "$URL/" --json
[ "$(json_get "$TMP/stdout" d.newSize)" = 1300 ] && [ "$(json_get "$TMP/stdout" d.merged)" = false ] ||
  fail "witness --url: $(cat "$TMP/stdout")"
expect_exit 2 "$FWSEAL" log witness --key "$TMP/w1.pem" --state "$W" --vkey "$VKEY" --url "$URL/nolog"
expect_stderr "404"

# a fork (same key and origin, another history): refused, state unchanged
lines b 1 1500 | "$FWSEAL" log append --dir "$F" --lines - >/dev/null
state=$(ls "$W"/*.checkpoint)
cp "$state" "$TMP/state.before"
expect_exit 1 "$FWSEAL" log witness --key "$TMP/w1.pem" --state "$W" --vkey "$VKEY" --dir "$F"
expect_stderr "^fwseal log witness: fork: checkpoint at size 1500 has root .* but its tree at size 1300 has root .*, not the root .* verified before$"
cmp -s "$state" "$TMP/state.before" || fail "a refused fork moved the witness state"
grep -q "^— witness-" "$F/checkpoint" && fail "a fork got a cosignature"

# a smaller log with the same key and origin: a rollback
"$FWSEAL" log init --dir "$TMP/small" --origin example.com/witnessed --key "$TMP/log.pem" \
  --any-entries >/dev/null
lines a 1 10 | "$FWSEAL" log append --dir "$TMP/small" --lines - >/dev/null
expect_exit 1 "$FWSEAL" log witness --key "$TMP/w1.pem" --state "$W" --vkey "$VKEY" --dir "$TMP/small"
expect_stderr "older than the size 1300"

# a checkpoint signed by another key
"$FWSEAL" log init --dir "$TMP/imp" --origin example.com/witnessed --key "$TMP/other.pem" \
  --any-entries >/dev/null
expect_exit 1 "$FWSEAL" log witness --key "$TMP/w1.pem" --state "$W" --vkey "$VKEY" --dir "$TMP/imp"
expect_stderr "not signed by the log key"
cmp -s "$state" "$TMP/state.before" || fail "a refused checkpoint moved the witness state"
finish
