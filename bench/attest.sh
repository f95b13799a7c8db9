#!/usr/bin/env bash
# Attestation verification rate: records QUOTES (default 10,000) TPM quotes from a swtpm, each
# over its own nonce, then `fwseal attest verify-batch` judges all of them on THREADS (default
# 2) threads with every check of `fwseal attest verify` (evidence JSON decoded, nonce, AK
# certificate chain, quote signature, PCR digest, event-log replay, reference values from the
# ledger's release records). Prints verifications per second. Target: at least 5,000 on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
FWSEAL=${FWSEAL:-$here/build/fwseal}
QUOTES=${QUOTES:-10000}
THREADS=${THREADS:-2}
RUNS=${RUNS:-3}
tmp=$(mktemp -d)
. "$here/tests/lib/swtpm.sh"
trap 'swtpm_stop; rm -rf "$tmp"' EXIT
export FWSEAL_PASSPHRASE=bench
cd "$tmp"
swtpm_start "$tmp/tpm"

# A device CA, the AK certified by it, releases in a ledger, a policy.
printf '[inter]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n[ak]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=2.23.133.8.3\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' >ext.cnf
for k in root inter; do openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $k.key 2>/dev/null; done
openssl req -x509 -new -key root.key -subj "/CN=bench root" -days 2 \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.crt 2>/dev/null
openssl req -new -key inter.key -subj "/CN=bench intermediate" -out inter.csr
openssl x509 -req -in inter.csr -CA root.crt -CAkey root.key -CAcreateserial -days 2 \
  -extfile ext.cnf -extensions inter -out inter.crt 2>/dev/null
"$FWSEAL" attest ak-create --csr ak.csr --cn bench-device >/dev/null
openssl x509 -req -in ak.csr -inform DER -CA inter.crt -CAkey inter.key -CAcreateserial -days 2 \
  -extfile ext.cnf -extensions ak -out ak.crt 2>/dev/null
"$FWSEAL" key gen --type ed25519 --out log.key >/dev/null
"$FWSEAL" log init --dir ledger --origin bench/log --key log.key >/dev/null
stages="bootloader:8 kernel:9 rootfs:10 app:11"
for s in $stages; do
  name=${s%%:*}
  echo "$name image" >"$name.img"
  printf '{"type":"release","schema":1,"time":"2026-01-01T00:00:00Z","product":"hub-%s","version":"1.0","image":{"sha256":"%s","size":1},"hardware":["hub"],"securityCounter":1}' \
    "$name" "$(sha256sum "$name.img" | cut -c1-64)" | "$FWSEAL" log append --dir ledger - >/dev/null
  "$FWSEAL" attest measure --log boot.log --pcr "${s##*:}" --stage "$name" --file "$name.img" >/dev/null
done
{
  printf '{"format":"fwseal-attest-policy/v1","maxAgeSeconds":3600,"minAssurance":"tpm","stages":['
  sep=
  for s in $stages; do
    printf '%s{"name":"%s","pcr":%s,"ledgerProduct":"hub-%s"}' "$sep" "${s%%:*}" "${s##*:}" "${s%%:*}"
    sep=,
  done
  printf ']}'
} >policy.json

t0=$(date +%s%N)
"$FWSEAL" attest record --log boot.log --device bench-device --cert ak.crt --count "$QUOTES" \
  --out quotes.jsonl >/dev/null
t1=$(date +%s%N)
awk -v n="$QUOTES" -v ns=$((t1 - t0)) \
  'BEGIN { printf "recorded %d swtpm quotes in %.1f s (%.0f quotes per second)\n", n, ns / 1e9, n * 1e9 / ns }'
rates=() cpus=()
for i in $(seq 1 "$RUNS"); do
  line=$("$FWSEAL" attest verify-batch --in quotes.jsonl --policy policy.json --ledger ledger \
    --model hub --ca root.crt --intermediate inter.crt --threads "$THREADS")
  echo "run $i: $line"
  rates+=($(echo "$line" | sed -E 's/.*: ([0-9]+) verifications per second.*/\1/'))
  cpus+=($(echo "$line" | sed -E 's/.*, ([0-9]+) us of CPU each.*/\1/'))
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
rate=$(median "${rates[@]}") cpu=$(median "${cpus[@]}")
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v r="$rate" -v c="$cpu" -v t="$THREADS" 'BEGIN {
  printf "median: %d verifications per second on %d threads (target >= 5000 on 2 cores)\n", r, t
  printf "CPU per verification: %d us, i.e. %.0f per second when %d cores are all ours\n", c, t * 1e6 / c, t }'
