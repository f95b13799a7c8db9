#!/usr/bin/env bash
# openssl (a peer we did not write) judges fwseal's certificates and CRLs: every certificate
# verifies against its own environment's chain, is rejected against another environment's, and
# is rejected with the CRL once revoked. CSRs made by `openssl req` are accepted.
. "$FWS_SOURCE_DIR/tests/lib/common.sh"
cd "$TMP"
D=$TMP/deploy
ENVS="dev staging prod"
expect_exit 0 "$FWSEAL" ca init --dir "$D" --env dev
expect_exit 0 "$FWSEAL" ca init --dir "$D" --env staging --key-type ed25519
expect_exit 0 "$FWSEAL" ca init --dir "$D" --env prod
expect_exit 0 "$FWSEAL" device model add --dir "$D" hub-v2

verify() { # verify ENV CERT [extra openssl args]: openssl verify against ENV's chain
  local env=$1 cert=$2; shift 2
  openssl verify -x509_strict -purpose sslclient -CAfile "$D/pki/$env/root.crt" \
    -untrusted "$D/pki/$env/intermediate.crt" "$@" "$cert" >"$TMP/verify.out" 2>&1
}

for env in $ENVS; do
  # The CA certificates themselves.
  openssl verify -x509_strict -CAfile "$D/pki/$env/root.crt" "$D/pki/$env/root.crt" >/dev/null \
    || fail "$env root does not verify"
  openssl verify -x509_strict -CAfile "$D/pki/$env/root.crt" "$D/pki/$env/intermediate.crt" >/dev/null \
    || fail "$env intermediate does not verify"
  openssl crl -in "$D/pki/$env/crl.pem" -CAfile "$D/pki/$env/intermediate.crt" -noout 2>&1 \
    | grep -q "verify OK" || fail "$env CRL signature"
  openssl crl -in "$D/pki/$env/root-crl.pem" -CAfile "$D/pki/$env/root.crt" -noout 2>&1 \
    | grep -q "verify OK" || fail "$env root CRL signature"
  # Devices from `openssl req` CSRs: PEM, and DER.
  for n in 1 2; do
    openssl ecparam -name prime256v1 -genkey -noout -out $env-$n.key 2>/dev/null
    openssl req -new -key $env-$n.key -subj "/CN=ignored/serialNumber=whatever" -out $env-$n.csr
  done
  openssl req -in $env-2.csr -outform DER -out $env-2.der
  expect_exit 0 "$FWSEAL" provision --dir "$D" --env $env --serial $env-1 --model hub-v2 --batch B \
    --csr $env-1.csr --out $env-1 --no-ledger
  expect_exit 0 "$FWSEAL" provision --dir "$D" --env $env --serial $env-2 --model hub-v2 --batch B \
    --csr $env-2.der --out $env-2 --no-ledger
  for n in 1 2; do
    verify $env $env-$n/device.crt || { cat verify.out; fail "$env-$n rejected by its own chain"; }
    verify $env $env-$n/device.crt -crl_check_all -CRLfile "$D/pki/$env/crl.pem" \
      -CRLfile "$D/pki/$env/root-crl.pem" || { cat verify.out; fail "$env-$n with CRLs"; }
    # The bundle's chain.pem is the chain a device presents.
    openssl verify -CAfile "$D/pki/$env/root.crt" -untrusted $env-$n/chain.pem $env-$n/device.crt >/dev/null \
      || fail "$env-$n with chain.pem"
    ok
  done
done

# Rejected against every other environment's chain.
for env in $ENVS; do
  for other in $ENVS; do
    [ $env = $other ] && continue
    if verify $other $env-1/device.crt; then fail "$env device accepted by the $other chain"; fi
    grep -q "unable to get local issuer certificate" verify.out || { cat verify.out; fail "$env vs $other"; }
    ok
  done
done

# After revocation: rejected with the CRL, the other device still accepted.
for env in $ENVS; do
  expect_exit 0 "$FWSEAL" device revoke --dir "$D" $env-1 --reason keyCompromise --no-ledger
  if verify $env $env-1/device.crt -crl_check -CRLfile "$D/pki/$env/crl.pem"; then
    fail "$env-1 accepted after revocation"
  fi
  grep -q "certificate revoked" verify.out || { cat verify.out; fail "$env-1: not 'revoked'"; }
  verify $env $env-2/device.crt -crl_check -CRLfile "$D/pki/$env/crl.pem" \
    || { cat verify.out; fail "$env-2 rejected by the CRL"; }
  openssl crl -in "$D/pki/$env/crl.pem" -noout -text | grep -q "Key Compromise" || fail "$env reason"
  ok
done

# A CSR signed with a digest other than SHA-256 is refused (we issue for ecdsa-with-SHA256).
openssl req -new -sha384 -key dev-1.key -subj /CN=x -out sha384.csr
expect_exit 2 "$FWSEAL" provision --dir "$D" --env dev --serial x-1 --model hub-v2 --batch B \
  --csr sha384.csr --out x --no-ledger
expect_stderr "not ecdsa-with-SHA256"
# The CSR's proof of possession as openssl sees it, for a request fwseal refused: a CSR whose
# key was swapped after signing.
openssl req -in dev-2.csr -outform DER -out good.der
openssl req -new -key dev-1.key -subj /CN=x -outform DER -out other.der
node -e '
const fs=require("fs");
const a=fs.readFileSync("good.der"), b=fs.readFileSync("other.der");
const spki=Buffer.from("301306072a8648ce3d020106082a8648ce3d030107034200","hex");
const ka=a.indexOf(spki), kb=b.indexOf(spki);
if (ka<0||kb<0) process.exit(3);
b.copy(a, ka, kb, kb+spki.length+65); fs.writeFileSync("swapped.der", a);'
openssl req -inform DER -in swapped.der -verify -noout >req.out 2>&1 || true
grep -q "verify failure" req.out || { cat req.out; fail "openssl accepted the swapped CSR"; }
expect_exit 1 "$FWSEAL" provision --dir "$D" --env dev --serial x-2 --model hub-v2 --batch B \
  --csr swapped.der --out x --no-ledger
expect_stderr "no proof of possession"
finish
