// Checks fwseal's signed checkpoints and inclusion proofs with @sigstore/verify, a verifier we
// did not write. Two steps, driven by sigstore_checkpoint.sh:
//
//   node sigstore_checkpoint.mjs prepare OUTDIR
//       makes an artifact, an ECDSA P-256 key and signature over it, and a Rekor
//       "hashedrekord" 0.0.1 body describing them (OUTDIR/body.json), to be appended to an
//       fwseal log as an ordinary entry;
//   node sigstore_checkpoint.mjs verify OUTDIR VKEY PROOF.tlog-proof ENTRY.bin
//       turns fwseal's tlog-proof (checkpoint + inclusion proof) into the transparency-log entry
//       of a Sigstore bundle (tlogEntries[0].inclusionProof {logIndex, rootHash, treeSize,
//       hashes, checkpoint.envelope}) and verifies it with @sigstore/verify: first through the
//       tlog inclusion check itself (signed-note checkpoint against the log's key, then the
//       RFC 6962 inclusion proof), then through the public Verifier on the whole bundle. Then
//       every tampered variant must be rejected.
import { createRequire } from 'node:module';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
// The inclusion check the Verifier runs for each tlog entry (not re-exported by the package
// index, so it is reached through its module path).
const { verifyTLogInclusion } = require('@sigstore/verify/dist/tlog/index.js');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

const ARTIFACT_HINT = 'fwseal-interop-artifact-key';

function die(msg) {
  console.error(`sigstore_checkpoint: ${msg}`);
  process.exit(1);
}

function prepare(dir) {
  const artifact = Buffer.from(`fwseal interop artifact ${crypto.randomUUID()}\n`);
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signature = crypto.sign('sha256', artifact, privateKey);
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  const body = {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: crypto.createHash('sha256').update(artifact).digest('hex') } },
      signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(pem).toString('base64') } },
    },
  };
  fs.writeFileSync(path.join(dir, 'artifact'), artifact);
  fs.writeFileSync(path.join(dir, 'artifact.sig'), signature);
  fs.writeFileSync(path.join(dir, 'artifact.pub.pem'), pem);
  fs.writeFileSync(path.join(dir, 'body.json'), JSON.stringify(body));
}

// The C2SP tlog-proof text: header, optional extra, index, hashes, empty line, checkpoint.
function parseTlogProof(text) {
  const lines = text.split('\n');
  if (lines[0] !== 'c2sp.org/tlog-proof@v1') die('not a tlog-proof');
  let i = 1;
  if (lines[i].startsWith('extra ')) i++;
  const m = /^index (\d+)$/.exec(lines[i++]);
  if (!m) die('no index line');
  const hashes = [];
  while (lines[i] !== '') hashes.push(lines[i++]);
  const checkpoint = lines.slice(i + 1).join('\n');
  const [origin, size, root] = checkpoint.split('\n');
  return { index: m[1], hashes, checkpoint, origin, size, root };
}

// vkey "<name>+<hex key ID>+<base64(0x01 || 32-byte Ed25519 key)>", with the key ID recomputed
// here from the signed-note rule so fwseal's and this reading must agree.
function parseVkey(vkey) {
  const text = vkey.trim();
  const p1 = text.indexOf('+');
  const p2 = text.indexOf('+', p1 + 1);
  const [name, hexId, b64] = [text.slice(0, p1), text.slice(p1 + 1, p2), text.slice(p2 + 1)];
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 33 || raw[0] !== 0x01) die('vkey is not an Ed25519 note key');
  const pub = raw.subarray(1);
  const idHash = crypto.createHash('sha256').update(Buffer.concat([Buffer.from(`${name}\n`), raw])).digest();
  if (idHash.subarray(0, 4).toString('hex') !== hexId) die(`vkey key ID ${hexId} does not match its key`);
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]);
  return { name, idHash, spki };
}

function makeBundle(p, entry, dir) {
  const logId = p.logId.toString('base64');
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      publicKey: { hint: ARTIFACT_HINT },
      tlogEntries: [
        {
          logIndex: p.index,
          logId: { keyId: logId },
          kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
          integratedTime: '0',
          inclusionProof: {
            logIndex: p.index,
            rootHash: p.root,
            treeSize: p.size,
            hashes: p.hashes,
            checkpoint: { envelope: p.checkpoint },
          },
          canonicalizedBody: entry.toString('base64'),
        },
      ],
      timestampVerificationData: { rfc3161Timestamps: [] },
    },
    messageSignature: {
      messageDigest: {
        algorithm: 'SHA2_256',
        digest: crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, 'artifact'))).digest('base64'),
      },
      signature: fs.readFileSync(path.join(dir, 'artifact.sig')).toString('base64'),
    },
  };
}

function trustMaterial(key, dir) {
  const root = TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: `https://${key.name}`,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: key.spki.toString('base64'),
          keyDetails: 'PKIX_ED25519',
          validFor: { start: '2000-01-01T00:00:00Z' },
        },
        logId: { keyId: key.idHash.toString('base64') },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
  const artifactKey = crypto.createPublicKey(fs.readFileSync(path.join(dir, 'artifact.pub.pem')));
  const keyFinder = (hint) => {
    if (hint !== ARTIFACT_HINT) throw new Error(`unknown key hint ${hint}`);
    return { publicKey: artifactKey, validFor: () => true };
  };
  return toTrustMaterial(root, keyFinder);
}

// Runs both checks on one bundle; returns null when accepted, else the error message.
function check(bundleJSON, tm, artifact) {
  try {
    const bundle = bundleFromJSON(bundleJSON);
    verifyTLogInclusion(bundle.verificationMaterial.tlogEntries[0], tm.tlogs);
    const verifier = new Verifier(tm, { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 0 });
    verifier.verify(toSignedEntity(bundle, artifact));
    return null;
  } catch (e) {
    return `${e.code ?? e.name}: ${e.message}`;
  }
}

function flipBase64(b64, byte) {
  const raw = Buffer.from(b64, 'base64');
  raw[byte % raw.length] ^= 0x01;
  return raw.toString('base64');
}

function verify(dir, vkeyText, proofPath, entryPath) {
  const key = parseVkey(vkeyText);
  const p = { ...parseTlogProof(fs.readFileSync(proofPath, 'utf8')), logId: key.idHash };
  const entry = fs.readFileSync(entryPath);
  const artifact = fs.readFileSync(path.join(dir, 'artifact'));
  const tm = trustMaterial(key, dir);
  if (p.origin !== key.name) die(`checkpoint origin ${p.origin} is not the key name ${key.name}`);

  const good = makeBundle(p, entry, dir);
  const err = check(good, tm, artifact);
  if (err !== null) die(`@sigstore/verify rejected fwseal's checkpoint and proof: ${err}`);
  console.log(`accepted: entry ${p.index} of ${p.origin} (tree size ${p.size}, ${p.hashes.length} proof hashes)`);

  // Tampered variants: each must be rejected.
  const cases = [];
  const variant = (what, edit) => {
    const b = structuredClone(good);
    edit(b.verificationMaterial.tlogEntries[0]);
    cases.push([what, b]);
  };
  p.hashes.forEach((h, i) =>
    variant(`proof hash ${i} flipped`, (e) => { e.inclusionProof.hashes[i] = flipBase64(h, 7); }));
  variant('an extra proof hash', (e) => { e.inclusionProof.hashes.push(p.hashes[0]); });
  if (p.hashes.length > 0)
    variant('the last proof hash missing', (e) => { e.inclusionProof.hashes.pop(); });
  variant('another log index', (e) => {
    const other = String((BigInt(p.index) + 1n) % BigInt(p.size));
    e.logIndex = other;
    e.inclusionProof.logIndex = other;
  });
  variant('the entry changed', (e) => {
    const body = JSON.parse(entry.toString());
    body.spec.data.hash.value = body.spec.data.hash.value.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    e.canonicalizedBody = Buffer.from(JSON.stringify(body)).toString('base64');
  });
  variant('the checkpoint root changed', (e) => {
    const lines = p.checkpoint.split('\n');
    lines[2] = flipBase64(lines[2], 3);
    e.inclusionProof.checkpoint.envelope = lines.join('\n');
  });
  variant('the checkpoint signature changed', (e) => {
    const env = p.checkpoint;
    const sigStart = env.lastIndexOf(' ') + 1;
    const sig = env.slice(sigStart).trim();
    e.inclusionProof.checkpoint.envelope = `${env.slice(0, sigStart)}${flipBase64(sig, 20)}\n`;
  });
  let failed = 0;
  for (const [what, b] of cases) {
    const e = check(b, tm, artifact);
    if (e === null) {
      console.error(`NOT rejected: ${what}`);
      failed++;
    } else {
      console.log(`rejected (${what}): ${e}`);
    }
  }
  // A trust root holding another log key rejects the genuine bundle.
  const { publicKey } = crypto.generateKeyPairSync('ed25519');
  const otherSpki = publicKey.export({ type: 'spki', format: 'der' });
  const otherTm = trustMaterial({ ...key, spki: otherSpki }, dir);
  const e = check(good, otherTm, artifact);
  if (e === null) {
    console.error('NOT rejected: checkpoint under another trusted log key');
    failed++;
  } else {
    console.log(`rejected (another trusted log key): ${e}`);
  }
  if (failed > 0) die(`${failed} tampered variant(s) accepted`);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'prepare' && args.length === 1) prepare(args[0]);
else if (cmd === 'verify' && args.length === 4) verify(args[0], args[1], args[2], args[3]);
else die('usage: sigstore_checkpoint.mjs prepare DIR | verify DIR VKEY PROOF ENTRY');
