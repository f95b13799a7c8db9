#!/usr/bin/env bash
# fwseal log mirror: a verified copy of a ledger, pulled from a directory and over HTTP; every
# pull checks consistency; a fork (same size, or a longer history that does not extend the
# mirror's) and a rollback are refused and leave the mirror as it was; the mirror serves as a
# ledger on its own.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"

rec() { echo "{\"type\":\"revoke\",\"schema\":1,\"time\":\"2026-01-01T00:00:00Z\",\"subject\":\"key\",\"id\":\"$1\",\"reason\":\"r\"}"; }
append() { # append LOG ID...
  local log=$1; shift
  for id in "$@"; do rec "$id"; done >lines
  expect_exit 0 "$FWSEAL" log append --dir "$log" --key log.key --lines lines
}

expect_exit 0 "$FWSEAL" log mirror --help
expect_exit 2 "$FWSEAL" log mirror --dir m
expect_stderr "one of --url and --source-dir"
expect_exit 0 "$FWSEAL" key gen --type ed25519 --out log.key --pub log.pub
expect_exit 0 "$FWSEAL" log init --dir L --origin example.com/mirror --key log.key
head -1 stdout >vkey

append L $(seq -f 'a%g' 1 300)
expect_exit 0 "$FWSEAL" log mirror --source-dir L --dir M --vkey vkey --json
[ "$(json_get stdout d.size)" = 300 ] && [ "$(json_get stdout d.firstSight)" = true ] || fail "first pull"
cp -a L fork
append L $(seq -f 'b%g' 1 20)
expect_exit 0 "$FWSEAL" log mirror --source-dir L --dir M --vkey vkey --json
[ "$(json_get stdout d.oldSize)" = 300 ] && [ "$(json_get stdout d.size)" = 320 ] || fail "second pull"
expect_exit 0 "$FWSEAL" log mirror --source-dir L --dir M --vkey vkey --json
[ "$(json_get stdout d.fetched)" = 0 ] || fail "nothing new to fetch"
cmp L/checkpoint M/checkpoint || fail "mirror checkpoint"
expect_exit 0 "$FWSEAL" log verify --dir M --vkey vkey

# ---- forks: the same key signed another history ----
snapshot() { find M -type f -exec sha256sum {} + | sort >"$1"; }
snapshot before
append fork $(seq -f 'c%g' 1 20)                 # same size, another root
expect_exit 1 "$FWSEAL" log mirror --source-dir fork --dir M --vkey vkey
expect_stderr "fork"
append fork c21                                   # longer, not an extension
expect_exit 1 "$FWSEAL" log mirror --source-dir fork --dir M --vkey vkey
expect_stderr "fork"
snapshot after
cmp before after || fail "a refused pull changed the mirror"
# a primary that went back in time
cp -a L old && append L d1 && expect_exit 0 "$FWSEAL" log mirror --source-dir L --dir M --vkey vkey
expect_exit 1 "$FWSEAL" log mirror --source-dir old --dir M --vkey vkey
expect_stderr "321 entries|the mirror"
# another log key
expect_exit 0 "$FWSEAL" key gen --type ed25519 --out other.key --pub other.pub
expect_exit 0 "$FWSEAL" log init --dir O --origin example.com/mirror --key other.key
head -1 stdout >other.pub.vkey
expect_exit 1 "$FWSEAL" log mirror --source-dir O --dir M --vkey vkey

# ---- over HTTP: the primary served by a static server; then the mirror serves alone ----
cat >serve.mjs <<'JS'
import http from 'node:http'; import fs from 'node:fs'; import path from 'node:path';
const root = process.argv[2];
const s = http.createServer((req, res) => {
  const p = path.join(root, decodeURIComponent(new URL(req.url, 'http://x').pathname));
  if (!p.startsWith(root)) { res.writeHead(403); return res.end(); }
  fs.readFile(p, (e, d) => { if (e) { res.writeHead(404); res.end(); } else { res.writeHead(200); res.end(d); } });
});
s.listen(0, '127.0.0.1', () => { fs.writeFileSync(process.argv[3], String(s.address().port)); });
setTimeout(() => process.exit(0), 60000);
JS
node serve.mjs "$TMP/L" port & pid=$!
trap 'kill $pid 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
append L e1 e2
expect_exit 0 "$FWSEAL" log mirror --url "http://127.0.0.1:$(cat port)" --dir H --vkey vkey --json
[ "$(json_get stdout d.size)" = 323 ] || fail "http pull"
expect_exit 0 "$FWSEAL" log mirror --url "http://127.0.0.1:$(cat port)" --dir M --vkey vkey --json
# the audit reads the same ledger over HTTP (tiles recomputed, checkpoint checked)
expect_exit 0 "$FWSEAL" audit --url "http://127.0.0.1:$(cat port)" --vkey vkey --json
[ "$(json_get stdout d.statistics.treeSize)" = 323 ] && [ "$(json_get stdout d.clean)" = true ] || fail "audit --url"
expect_exit 1 "$FWSEAL" audit --url "http://127.0.0.1:$(cat port)" --vkey other.pub.vkey --json
[ "$(json_get stdout 'd.findings.filter(f => f.check == "ledger-checkpoint").length')" = 1 ] || fail "audit --url with another key"
expect_exit 2 "$FWSEAL" audit --url "http://127.0.0.1:$(cat port)"
expect_stderr "--url needs --vkey"
kill $pid; wait $pid 2>/dev/null || true
# the primary is lost: the mirror answers for it (proofs from the mirror's tiles)
rm -rf L
expect_exit 0 "$FWSEAL" log verify --dir M --vkey vkey
expect_exit 0 "$FWSEAL" log prove --dir M --index 7 --out p7.tlog-proof --entry-out e7
grep -q "\"id\":\"a8\"" e7 || fail "entry 7"
expect_exit 0 "$FWSEAL" log verify-proof --vkey vkey --proof p7.tlog-proof e7
finish
