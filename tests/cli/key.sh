#!/usr/bin/env bash
# fwseal key gen / key show, end to end, with openssl as the independent reader of the files.
set -euo pipefail

: "${FWSEAL:?FWSEAL must point at the fwseal binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect CODE STDERR_PATTERN -- command...: runs it, checks the exit code and that stderr has
# exactly one line matching the pattern.
expect() {
    local want=$1 pattern=$2 rc=0
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want; stderr: $(cat "$tmp/err")"
    if [ -n "$pattern" ]; then
        grep -q -- "$pattern" "$tmp/err" || fail "'$*': stderr lacks '$pattern': $(cat "$tmp/err")"
        [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "'$*': expected one stderr line: $(cat "$tmp/err")"
    fi
}

json_field() { # json_field FILE FIELD
    node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
             const v = d[process.argv[2]];
             if (v === undefined) process.exit(3);
             const s = v === null ? "null" : String(v);
             process.stdout.write(s.endsWith("\n") ? s : s + "\n");' "$1" "$2"
}

spki_keyid() { # the key ID computed by openssl: SHA-256 of the SPKI DER
    openssl pkey -pubin -in "$1" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}

export FWSEAL_PASSPHRASE='correct horse battery staple'

# ---- gen, both types -------------------------------------------------------------------------
for type in ed25519 p256; do
    expect 0 "" -- "$FWSEAL" key gen --type "$type" --out "$type.key" --pub "$type.pub"
    line=$(head -n1 "$tmp/out")
    [[ "$line" =~ ^key\ $type\ [0-9a-f]{64}$ ]] || fail "gen $type printed '$line'"
    keyid=${line##* }
    [ "$(stat -c %a "$type.key")" = 600 ] || fail "$type.key mode is $(stat -c %a "$type.key")"
    [ "$(head -n1 "$type.key")" = "-----BEGIN ENCRYPTED PRIVATE KEY-----" ] ||
        fail "$type.key is not an encrypted PKCS#8 PEM"
    [ "$(head -n1 "$type.pub")" = "-----BEGIN PUBLIC KEY-----" ] || fail "$type.pub is not SPKI"

    # openssl decrypts the private key and derives the same public key.
    openssl pkey -in "$type.key" -passin env:FWSEAL_PASSPHRASE -pubout -out "$type.ossl.pub" ||
        fail "openssl cannot read $type.key"
    cmp -s "$type.ossl.pub" "$type.pub" || fail "openssl's public key differs from $type.pub"
    [ "$(spki_keyid "$type.pub")" = "$keyid" ] || fail "$type key ID is not SHA-256(SPKI)"
    openssl asn1parse -in "$type.key" | grep -q PBES2 || fail "$type.key is not PBES2"
    openssl asn1parse -in "$type.key" | grep -q hmacWithSHA256 || fail "$type.key PRF"
    openssl asn1parse -in "$type.key" | grep -q aes-256-cbc || fail "$type.key cipher"

    # show agrees for the private and the public file.
    expect 0 "" -- "$FWSEAL" key show "$type.key"
    grep -qx "keyid $keyid" "$tmp/out" || fail "show $type.key: $(cat "$tmp/out")"
    grep -qx "type $type" "$tmp/out" || fail "show $type.key type: $(cat "$tmp/out")"
    grep -qx "private yes" "$tmp/out" || fail "show $type.key private: $(cat "$tmp/out")"
    sed -n '/-----BEGIN PUBLIC KEY-----/,$p' "$tmp/out" | cmp -s - "$type.pub" ||
        fail "show $type.key: public PEM differs"
    expect 0 "" -- env -u FWSEAL_PASSPHRASE "$FWSEAL" key show "$type.pub"
    grep -qx "keyid $keyid" "$tmp/out" || fail "show $type.pub: $(cat "$tmp/out")"
    grep -qx "private no" "$tmp/out" || fail "show $type.pub private: $(cat "$tmp/out")"
done

# ---- JSON output -----------------------------------------------------------------------------
expect 0 "" -- "$FWSEAL" key gen --type p256 --out j.key --pub j.pub --json
cp "$tmp/out" gen.json
[ "$(json_field gen.json type)" = p256 ] || fail "gen --json type"
[ "$(json_field gen.json private)" = j.key ] || fail "gen --json private"
[ "$(json_field gen.json public)" = j.pub ] || fail "gen --json public"
jid=$(json_field gen.json keyid)
[[ "$jid" =~ ^[0-9a-f]{64}$ ]] || fail "gen --json keyid '$jid'"
[ "$(spki_keyid j.pub)" = "$jid" ] || fail "gen --json keyid is not SHA-256(SPKI)"
expect 0 "" -- "$FWSEAL" key show j.key --json
cp "$tmp/out" show.json
[ "$(json_field show.json keyid)" = "$jid" ] || fail "show --json keyid"
[ "$(json_field show.json private)" = true ] || fail "show --json private"
[ "$(json_field show.json type)" = p256 ] || fail "show --json type"
json_field show.json public_pem | cmp -s - j.pub || fail "show --json public_pem"
expect 0 "" -- "$FWSEAL" key show j.pub --json
[ "$(json_field "$tmp/out" private)" = false ] || fail "show pub --json private"
expect 0 "" -- "$FWSEAL" key gen --type ed25519 --out nopub.key --json
[ "$(json_field "$tmp/out" public)" = null ] || fail "gen --json without --pub: public not null"

# ---- passphrase from a file ------------------------------------------------------------------
printf 'file passphrase\nsecond line is ignored\n' >pp.txt
expect 0 "" -- env -u FWSEAL_PASSPHRASE "$FWSEAL" key gen --type ed25519 --out f.key \
    --passphrase-file pp.txt
fid=$(head -n1 "$tmp/out" | cut -d' ' -f3)
expect 0 "" -- env -u FWSEAL_PASSPHRASE "$FWSEAL" key show f.key --passphrase-file pp.txt
grep -qx "keyid $fid" "$tmp/out" || fail "show with --passphrase-file"
printf 'file passphrase' >pp-plain.txt
openssl pkey -in f.key -passin file:pp-plain.txt -noout || fail "openssl rejects f.key"

# ---- refusals --------------------------------------------------------------------------------
expect 2 "wrong passphrase" -- env FWSEAL_PASSPHRASE=wrong "$FWSEAL" key show ed25519.key
expect 2 "passphrase file pp.txt.nope" -- env -u FWSEAL_PASSPHRASE "$FWSEAL" key show f.key \
    --passphrase-file pp.txt.nope
expect 2 "missing.key" -- "$FWSEAL" key show missing.key

before=$(sha256sum ed25519.key)
expect 2 "already exists" -- "$FWSEAL" key gen --type ed25519 --out ed25519.key
[ "$(sha256sum ed25519.key)" = "$before" ] || fail "existing key was overwritten"
expect 2 "already exists" -- "$FWSEAL" key gen --type ed25519 --out new.key --pub ed25519.pub
[ ! -e new.key ] || fail "new.key written although ed25519.pub exists"
expect 0 "" -- "$FWSEAL" key gen --type ed25519 --out ed25519.key --force
[ "$(sha256sum ed25519.key)" != "$before" ] || fail "--force did not replace the key"

# No partial results: a public key that cannot be written takes the private key with it.
expect 2 "no/such/dir" -- "$FWSEAL" key gen --type p256 --out lone.key --pub no/such/dir/lone.pub
[ ! -e lone.key ] || fail "lone.key left behind"
ls -A | grep -q '\.tmp\.' && fail "temporary files left behind: $(ls -A)"

# Empty or unavailable passphrases.
expect 2 "empty" -- env FWSEAL_PASSPHRASE= "$FWSEAL" key gen --type ed25519 --out e.key
[ ! -e e.key ] || fail "e.key written with an empty passphrase"
printf '\n' >empty.txt
expect 2 "empty" -- env -u FWSEAL_PASSPHRASE "$FWSEAL" key gen --type ed25519 --out e.key \
    --passphrase-file empty.txt
if command -v setsid >/dev/null; then
    expect 2 "FWSEAL_PASSPHRASE" -- env -u FWSEAL_PASSPHRASE setsid -w "$FWSEAL" key gen \
        --type ed25519 --out e.key
    [ ! -e e.key ] || fail "e.key written without a passphrase"
fi

# The wrong kind of file, or an unsupported key.
openssl req -x509 -newkey ed25519 -nodes -keyout cert.key -subj /CN=fwseal-test -days 1 \
    -out cert.pem 2>/dev/null
expect 2 "CERTIFICATE" -- "$FWSEAL" key show cert.pem
: >empty.pem
expect 2 "empty" -- "$FWSEAL" key show empty.pem
head -c 100 ed25519.key >cut.pem
expect 2 "truncated" -- "$FWSEAL" key show cut.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -aes-256-cbc \
    -pass env:FWSEAL_PASSPHRASE -out rsa.key 2>/dev/null
expect 2 "RSA" -- "$FWSEAL" key show rsa.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key 2>/dev/null
openssl pkey -in p384.key -pubout -out p384.pub
expect 2 "secp384r1" -- "$FWSEAL" key show p384.pub

# A key written by openssl reads back with the key ID openssl computes.
openssl genpkey -algorithm ed25519 -aes-256-cbc -pass env:FWSEAL_PASSPHRASE -out ossl.key
openssl pkey -in ossl.key -passin env:FWSEAL_PASSPHRASE -pubout -out ossl.pub
expect 0 "" -- "$FWSEAL" key show ossl.key
grep -qx "keyid $(spki_keyid ossl.pub)" "$tmp/out" || fail "openssl key: $(cat "$tmp/out")"

# ---- usage -----------------------------------------------------------------------------------
expect 0 "" -- "$FWSEAL" key --help
grep -q "gen" "$tmp/out" || fail "key --help lists no gen"
expect 0 "" -- "$FWSEAL" key gen --help
grep -q -- "--type" "$tmp/out" || fail "key gen --help"
expect 0 "" -- "$FWSEAL" key show --help
expect 2 "unknown key type" -- "$FWSEAL" key gen --type rsa --out x.key
expect 2 "required" -- "$FWSEAL" key gen --type ed25519
expect 2 "exactly one" -- "$FWSEAL" key show
expect 2 "unknown command" -- "$FWSEAL" key frobnicate
[ ! -e x.key ] || fail "x.key written on a usage error"

echo "key.sh: all checks passed"
