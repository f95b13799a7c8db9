// Verifying a C2SP tlog-proof in the browser: the checkpoint's Ed25519 signature (signed-note)
// with the log's vkey, and the RFC 9162 inclusion proof of the entry under the checkpoint's
// root. Only WebCrypto is used (SHA-256, Ed25519).

const enc = new TextEncoder();

function b64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function concat(...parts) {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// "name+hexid+base64(type || key)"
export async function parseVkey(text) {
  const t = text.trim();
  const a = t.indexOf('+'), b = t.indexOf('+', a + 1);
  if (a <= 0 || b < 0) throw new Error('the log key is not a vkey');
  const name = t.slice(0, a), id = t.slice(a + 1, b), key = t.slice(b + 1);
  const raw = b64(key);
  if (raw.length !== 33 || raw[0] !== 0x01) throw new Error('the log key is not an Ed25519 note key');
  const want = (await sha256(concat(enc.encode(name + '\n'), raw))).slice(0, 4);
  if (hex(want) !== id.toLowerCase()) throw new Error('the log key\'s ID does not match its key');
  return { name, id: want, pub: raw.slice(1) };
}

// The proof file: header, optional extra, index, hashes, an empty line, the signed note.
export function parseProof(text) {
  const lines = text.split('\n');
  let i = 0;
  if (lines[i++] !== 'c2sp.org/tlog-proof@v1') throw new Error('not a c2sp.org/tlog-proof@v1 file');
  if (lines[i] && lines[i].startsWith('extra ')) i++;
  const m = /^index (0|[1-9][0-9]*)$/.exec(lines[i++] || '');
  if (!m) throw new Error('the proof has no index line');
  const hashes = [];
  while (i < lines.length && lines[i] !== '') {
    const h = b64(lines[i++]);
    if (h.length !== 32) throw new Error('a proof hash is not 32 bytes');
    hashes.push(h);
  }
  if (i >= lines.length) throw new Error('the proof has no checkpoint');
  const note = lines.slice(i + 1).join('\n');
  return { index: BigInt(m[1]), hashes, note };
}

// A signed note: text up to the last blank line, then "— name base64" lines.
export function parseNote(note) {
  const cut = note.lastIndexOf('\n\n');
  if (cut < 0) throw new Error('the checkpoint is not a signed note');
  const text = note.slice(0, cut + 1);
  const sigs = note.slice(cut + 2).split('\n').filter((l) => l !== '').map((l) => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(l);
    if (!m) throw new Error('a checkpoint signature line is malformed');
    return { name: m[1], sig: b64(m[2]) };
  });
  const [origin, size, root] = text.split('\n');
  if (!/^(0|[1-9][0-9]*)$/.test(size || '')) throw new Error('the checkpoint size is malformed');
  const rootBytes = b64(root || '');
  if (rootBytes.length !== 32) throw new Error('the checkpoint root is malformed');
  return { text, sigs, origin, size: BigInt(size), root: rootBytes };
}

async function verifySignature(cp, key) {
  const line = cp.sigs.find((s) => s.name === key.name && s.sig.length === 68 && equal(s.sig.slice(0, 4), key.id));
  if (!line) throw new Error('the checkpoint is not signed by the log\'s key');
  const k = await crypto.subtle.importKey('raw', key.pub, { name: 'Ed25519' }, false, ['verify']);
  const ok = await crypto.subtle.verify({ name: 'Ed25519' }, k, line.sig.slice(4), enc.encode(cp.text));
  if (!ok) throw new Error('the checkpoint signature does not verify');
}

async function nodeHash(l, r) {
  return sha256(concat(Uint8Array.of(1), l, r));
}

// RFC 9162, 2.1.3.2.
async function rootFromInclusion(index, size, leaf, path) {
  if (index >= size) throw new Error('the index is outside the tree');
  let fn = index, sn = size - 1n, r = leaf;
  for (const p of path) {
    if (sn === 0n) throw new Error('the inclusion proof is too long');
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error('the inclusion proof is too short');
  return r;
}

// Verifies that entry (the exact record text) is in the log: returns {index, size, origin,
// root} or throws an Error saying what failed.
export async function verifyProof(entry, proofText, vkeyText) {
  if (!crypto.subtle) throw new Error('this browser cannot verify here (no WebCrypto): use fwseal log verify-proof');
  const key = await parseVkey(vkeyText);
  const proof = parseProof(proofText);
  const cp = parseNote(proof.note);
  if (cp.origin !== key.name) throw new Error('the checkpoint comes from another log');
  await verifySignature(cp, key);
  const leaf = await sha256(concat(Uint8Array.of(0), enc.encode(entry)));
  const root = await rootFromInclusion(proof.index, cp.size, leaf, proof.hashes);
  if (!equal(root, cp.root)) throw new Error('the entry is not in the tree the checkpoint signs');
  return { index: proof.index, size: cp.size, origin: cp.origin, root: hex(cp.root) };
}
