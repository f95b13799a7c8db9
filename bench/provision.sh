#!/usr/bin/env bash
# Provisioning speed: `fwseal provision --batch-file` issues N device identities (default 10,000)
# from pregenerated P-256 CSRs (checking each proof of possession), stores them in the inventory,
# appends one ledger record per device with a signed checkpoint, and writes every bundle. The
# peer is `openssl x509 -req` issuing the same certificates from the same CSRs with the same
# issuing key, one process per certificate as a shell script would run it, over the first
# PEER_N of them (default 2,000: one openssl process per certificate is slow, and a rate needs
# no more). Prints devices per second for both and the ratio. Target: >= 1,000 devices/s.
# The bundles are many small files: on a filesystem busy with deletions, inode allocation
# dominates (TMPDIR picks where the run happens).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
FWSEAL=${FWSEAL:-$here/build/fwseal}
N=${N:-10000}
PEER_N=${PEER_N:-2000}
JOBS=${JOBS:-$(nproc)}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export FWSEAL_PASSPHRASE=bench
D=$tmp/deploy
cd "$tmp"

"$FWSEAL" ca init --dir "$D" --env prod >/dev/null
"$FWSEAL" device model add --dir "$D" hub-v2 >/dev/null
"$FWSEAL" key gen --type ed25519 --out "$tmp/log.key" >/dev/null
"$FWSEAL" log init --dir "$D/ledger" --origin bench.example/devices --key "$tmp/log.key" >/dev/null

echo "pregenerating $N CSRs, each for its own new P-256 key (not timed)..."
mkdir csr
# PKCS#10 requests built with Node's crypto (keys and ECDSA signatures), faster than one
# openssl process per request; fwseal checks each one's proof of possession like any other.
node - "$N" <<'JS'
const crypto = require("crypto"), fs = require("fs");
const len = (n) => n < 128 ? Buffer.from([n]) : n < 256 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 255]);
const tlv = (tag, ...parts) => { const b = Buffer.concat(parts); return Buffer.concat([Buffer.from([tag]), len(b.length), b]); };
const cnOid = Buffer.from("0603550403", "hex");
const ecdsaSha256 = tlv(0x30, Buffer.from("06082a8648ce3d040302", "hex"));
for (let i = 1; i <= +process.argv[2]; i++) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const name = tlv(0x30, tlv(0x31, tlv(0x30, cnOid, tlv(0x0c, Buffer.from("unit-" + i)))));
  const info = tlv(0x30, Buffer.from([2, 1, 0]), name, publicKey.export({ type: "spki", format: "der" }), Buffer.from([0xa0, 0]));
  const sig = crypto.sign("sha256", info, { key: privateKey, dsaEncoding: "der" });
  fs.writeFileSync("csr/" + i + ".csr", tlv(0x30, info, ecdsaSha256, tlv(0x03, Buffer.from([0]), sig)));
}
JS
{
  echo "serial,model,batch,bom_version,station,operator,csr,hw:flash,hw:radio"
  for i in $(seq 1 "$N"); do echo "SN-$i,hub-v2,LOT-1,1.0,st-1,bench,csr/$i.csr,pass,pass"; done
} >devices.csv

now() { date +%s%N; }
t0=$(now)
"$FWSEAL" provision --dir "$D" --env prod --batch-file devices.csv --out bundles >/dev/null
t1=$(now)
ours_ns=$((t1 - t0))
count=$("$FWSEAL" device list --dir "$D" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).count))')
[ "$count" = "$N" ] || { echo "only $count devices in the inventory" >&2; exit 1; }
last=$((N - 1))
"$FWSEAL" log get --dir "$D/ledger" "$last" | grep -q '"type":"provision"' \
  || { echo "the last ledger record is missing" >&2; exit 1; }

# The peer: the same issuing key, unencrypted for openssl, and the same profile.
openssl pkey -in "$D/pki/prod/intermediate.key" -passin env:FWSEAL_PASSPHRASE -out ca.key
cat >ext.cnf <<'X'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
X
mkdir peer
t2=$(now)
for i in $(seq 1 "$PEER_N"); do
  openssl x509 -req -inform DER -in csr/$i.csr -CA "$D/pki/prod/intermediate.crt" -CAkey ca.key \
    -set_serial "$((0x40000000 + i))" -days 7300 -sha256 -extfile ext.cnf \
    -out peer/$i.crt 2>/dev/null
done
t3=$(now)
peer_ns=$((t3 - t2))
awk -v n="$N" -v pn="$PEER_N" -v o="$ours_ns" -v p="$peer_ns" 'BEGIN {
  ours = n * 1e9 / o; peer = pn * 1e9 / p
  printf "fwseal provision --batch-file: %d devices in %.2f s: %.0f devices/s (CSR checks, certificates, inventory, ledger records + checkpoint, bundles)\n", n, o / 1e9, ours
  printf "openssl x509 -req:             %d certificates in %.2f s: %.0f certificates/s\n", pn, p / 1e9, peer
  printf "ratio fwseal/openssl: %.1f (target: fwseal >= 1000 devices/s: %s)\n", ours / peer, (ours >= 1000) ? "met" : "NOT met" }'
