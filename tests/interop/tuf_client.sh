#!/usr/bin/env bash
# Peers we did not write: repositories built and signed with @tufjs/models, served over HTTP on
# 127.0.0.1. `fwseal tuf-client` must accept them (ed25519, ecdsa and rsa keys, delegations,
# hash bins, root rotation) and reject every attack (rollback of each role, freeze,
# mix-and-match, bad targets, endless data, too few or duplicate signatures, skipped roots).
# The scenarios live in tuf_client_interop.mjs; this prints one line per scenario and a count.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$FWS_SOURCE_DIR/tests/interop"
[ -d node_modules/@tufjs/models ] || fail "node_modules missing: run scripts/setup"
node tuf_client_interop.mjs "$TMP"

# The command line's own checks: help, usage errors (exit 2), init of a file that is not root
# metadata (exit 1), refresh without a trusted root (exit 1).
expect_exit 0 "$FWSEAL" tuf-client --help
expect_exit 2 "$FWSEAL" tuf-client --metadata-dir "$TMP/m" refresh
expect_stderr 'needs --metadata-url'
expect_exit 2 "$FWSEAL" tuf-client --metadata-dir "$TMP/m" --metadata-url http://127.0.0.1:9 fly
echo '{"signed": {"_type": "targets"}, "signatures": []}' >"$TMP/notroot.json"
expect_exit 1 "$FWSEAL" tuf-client --metadata-dir "$TMP/m" init "$TMP/notroot.json"
[ ! -e "$TMP/m/root.json" ] || fail "init stored a file that is not root metadata"
expect_exit 1 "$FWSEAL" tuf-client --metadata-dir "$TMP/empty" --metadata-url http://127.0.0.1:9 refresh
expect_stderr 'no trusted root'
finish
