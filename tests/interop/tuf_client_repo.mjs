// A TUF repository written with @tufjs/models, served over HTTP on 127.0.0.1, for fwseal's
// client tests and benchmark. Keys are made with node's crypto; every metadata file is built
// and signed through @tufjs/models (Metadata.sign over its canonical JSON).
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import { Metadata, Root, Signature, Snapshot, Targets, Timestamp } from '@tufjs/models';

// ---- keys -------------------------------------------------------------------------------------

// type: 'ed25519' | 'ecdsa' | 'rsa' | 'rsa-max-salt' (RSA-PSS with a maximum-length salt).
export function newKey(type = 'ed25519') {
  let json, signRaw;
  if (type === 'ed25519') {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    json = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } };
    signRaw = (data) => crypto.sign(null, data, privateKey);
  } else if (type === 'ecdsa') {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ format: 'pem', type: 'spki' });
    json = { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem } };
    signRaw = (data) => crypto.sign('sha256', data, privateKey);
  } else if (type === 'rsa' || type === 'rsa-max-salt') {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ format: 'pem', type: 'spki' });
    json = { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: pem } };
    const saltLength = type === 'rsa' ? crypto.constants.RSA_PSS_SALTLEN_DIGEST
                                      : crypto.constants.RSA_PSS_SALTLEN_MAX_SIGN;
    signRaw = (data) => crypto.sign('sha256', data,
      { key: privateKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength });
  } else {
    throw new Error(`unknown key type ${type}`);
  }
  const keyid = crypto.createHash('sha256').update(canonicalize(json)).digest('hex');
  return {
    keyid, json, type,
    signer: (id = keyid) => (data) => new Signature({ keyID: id, sig: signRaw(data).toString('hex') }),
  };
}

export const sha256hex = (b) => crypto.createHash('sha256').update(b).digest('hex');
export const sha512hex = (b) => crypto.createHash('sha512').update(b).digest('hex');

// "YYYY-MM-DDTHH:MM:SSZ", days from now (negative for the past).
export function inDays(days) {
  return new Date(Date.now() + days * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');
}

// ---- the repository -----------------------------------------------------------------------------

const TOP = ['root', 'timestamp', 'snapshot', 'targets'];

export class Repo {
  // opts.keyTypes: key type per top-level role; opts.consistent: consistent snapshots.
  constructor(dir, opts = {}) {
    this.dir = dir;
    this.meta = path.join(dir, 'metadata');
    this.targetsDir = path.join(dir, 'targets');
    fs.mkdirSync(this.meta, { recursive: true });
    fs.mkdirSync(this.targetsDir, { recursive: true });
    this.consistent = opts.consistent ?? true;
    this.keys = {};
    this.threshold = {};
    this.version = {};
    this.expires = {};
    for (const r of TOP) {
      this.keys[r] = [newKey(opts.keyTypes?.[r] ?? 'ed25519')];
      this.threshold[r] = 1;
      this.version[r] = 1;
      this.expires[r] = inDays(opts.days ?? 30);
    }
    // Targets roles: the top-level one and delegated ones, by name.
    this.roles = { targets: { targets: {}, delegations: null } };
    this.signers = {}; // role name -> keys that sign it (delegated roles)
    this.snapshotHashes = true; // list length and hashes of targets files in snapshot
    this.hooks = {}; // name -> function(signedJson) mutating before signing
    this.signHook = {}; // name -> function(metadata, keys) replacing the signing step
    this.post = {}; // name -> function(json) editing the serialized document (attacks)
  }

  rootSigned() {
    const keys = {};
    const roles = {};
    for (const r of TOP) {
      for (const k of this.keys[r]) keys[k.keyid] = k.json;
      roles[r] = { keyids: this.keys[r].map((k) => k.keyid), threshold: this.threshold[r] };
    }
    return {
      _type: 'root', spec_version: '1.0.31', version: this.version.root,
      expires: this.expires.root, consistent_snapshot: this.consistent, keys, roles,
    };
  }

  // Writes N.root.json (and root.json) signed by `signWith` (default: the root keys).
  writeRoot(signWith = this.keys.root) {
    const signed = this.rootSigned();
    this.hooks.root?.(signed);
    const md = new Metadata(Root.fromJSON(signed));
    for (const k of signWith) md.sign(k.signer());
    const json = md.toJSON();
    this.post.root?.(json);
    const bytes = Buffer.from(JSON.stringify(json, null, 1));
    fs.writeFileSync(path.join(this.meta, `${this.version.root}.root.json`), bytes);
    fs.writeFileSync(path.join(this.meta, 'root.json'), bytes);
    return bytes;
  }

  // Rotates root: fn changes keys/thresholds; the new root is signed by the old and new root keys.
  rotateRoot(fn) {
    const oldKeys = this.keys.root;
    fn(this);
    this.version.root += 1;
    const signWith = [...oldKeys, ...this.keys.root.filter((k) => !oldKeys.includes(k))];
    return this.writeRoot(signWith);
  }

  addTarget(role, name, content, custom) {
    const data = Buffer.from(content);
    const hashes = { sha256: sha256hex(data) };
    const t = { length: data.length, hashes };
    if (custom) t.custom = custom;
    this.roles[role].targets[name] = t;
    const dir = path.dirname(name) === '.' ? '' : path.dirname(name);
    fs.mkdirSync(path.join(this.targetsDir, dir), { recursive: true });
    const base = path.basename(name);
    fs.writeFileSync(path.join(this.targetsDir, dir, base), data);
    fs.writeFileSync(path.join(this.targetsDir, dir, `${hashes.sha256}.${base}`), data);
  }

  // Delegates from `parent` to a new role. opts: paths | path_hash_prefixes, terminating,
  // keyType, threshold, nkeys.
  delegate(parent, name, opts = {}) {
    const keys = Array.from({ length: opts.nkeys ?? 1 }, () => newKey(opts.keyType ?? 'ed25519'));
    const p = this.roles[parent];
    p.delegations ??= { keys: {}, roles: [] };
    for (const k of keys) p.delegations.keys[k.keyid] = k.json;
    const entry = {
      name, keyids: keys.map((k) => k.keyid), threshold: opts.threshold ?? 1,
      terminating: opts.terminating ?? false,
    };
    if (opts.path_hash_prefixes) entry.path_hash_prefixes = opts.path_hash_prefixes;
    else entry.paths = opts.paths ?? ['*'];
    p.delegations.roles.push(entry);
    this.roles[name] = { targets: {}, delegations: null };
    this.signers[name] = keys;
    this.version[name] = 1;
    this.expires[name] = inDays(30);
    return keys;
  }

  // TAP 15 hash bins under `parent`: 2^bits terminating bins sharing one key.
  succinct(parent, bits, prefix = 'bin', keyType = 'ed25519') {
    const key = newKey(keyType);
    this.roles[parent].delegations = {
      keys: { [key.keyid]: key.json },
      succinct_roles: { keyids: [key.keyid], threshold: 1, bit_length: bits, name_prefix: prefix },
    };
    const width = ((1 << bits) - 1).toString(16).length;
    for (let i = 0; i < 1 << bits; i++) {
      const name = `${prefix}-${i.toString(16).padStart(width, '0')}`;
      this.roles[name] = { targets: {}, delegations: null };
      this.signers[name] = [key];
      this.version[name] = 1;
      this.expires[name] = inDays(30);
    }
    return key;
  }

  binFor(bits, prefix, targetPath) {
    const h = crypto.createHash('sha256').update(targetPath).digest();
    const n = h.readUInt32BE(0) >>> (32 - bits);
    return `${prefix}-${n.toString(16).padStart(((1 << bits) - 1).toString(16).length, '0')}`;
  }

  sign(name, signed, kind) {
    this.hooks[name]?.(signed);
    const md = new Metadata(kind.fromJSON(signed));
    const keys = TOP.includes(name) ? this.keys[name] : this.signers[name];
    if (this.signHook[name]) this.signHook[name](md, keys);
    else for (const k of keys) md.sign(k.signer());
    const json = md.toJSON();
    this.post[name]?.(json);
    return Buffer.from(JSON.stringify(json));
  }

  targetsBytes(name) {
    const r = this.roles[name];
    const signed = {
      _type: 'targets', spec_version: '1.0.31', version: this.version[name],
      expires: this.expires[name], targets: r.targets,
    };
    if (r.delegations) signed.delegations = r.delegations;
    return this.sign(name, signed, Targets);
  }

  writeMeta(name, version, bytes) {
    const file = this.consistent ? `${version}.${encodeURIComponent(name)}.json`
                                 : `${encodeURIComponent(name)}.json`;
    fs.writeFileSync(path.join(this.meta, file), bytes);
    return file;
  }

  // Signs and writes every targets role, the snapshot and the timestamp.
  publish() {
    const meta = {};
    for (const name of Object.keys(this.roles)) {
      const bytes = this.targetsBytes(name);
      this.writeMeta(name, this.version[name], bytes);
      meta[`${name}.json`] = this.snapshotHashes
        ? { version: this.version[name], length: bytes.length, hashes: { sha256: sha256hex(bytes) } }
        : { version: this.version[name] };
    }
    const snap = this.sign('snapshot', {
      _type: 'snapshot', spec_version: '1.0.31', version: this.version.snapshot,
      expires: this.expires.snapshot, meta,
    }, Snapshot);
    this.writeMeta('snapshot', this.version.snapshot, snap);
    const ts = this.sign('timestamp', {
      _type: 'timestamp', spec_version: '1.0.31', version: this.version.timestamp,
      expires: this.expires.timestamp,
      meta: { 'snapshot.json': { version: this.version.snapshot, length: snap.length,
                                 hashes: { sha256: sha256hex(snap) } } },
    }, Timestamp);
    fs.writeFileSync(path.join(this.meta, 'timestamp.json'), ts);
    return { snapshot: snap, timestamp: ts };
  }

  // A new release: bumps the named roles, the snapshot and the timestamp, then publishes.
  release(...roles) {
    for (const r of roles) this.version[r] += 1;
    this.version.snapshot += 1;
    this.version.timestamp += 1;
    return this.publish();
  }

  file(rel) {
    return fs.readFileSync(path.join(this.meta, rel));
  }
}

// ---- the server ---------------------------------------------------------------------------------

// Serves `root` on 127.0.0.1 at a random free port. server.override(urlPath, handler) replaces
// one path (handler(req, res)); server.log lists every requested path.
export async function serve(root) {
  const overrides = new Map();
  const log = [];
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    log.push(urlPath);
    const o = overrides.get(urlPath);
    if (o) return o(req, res);
    const file = path.join(root, path.normalize(urlPath));
    if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404);
      return res.end('not found');
    }
    const data = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': data.length });
    res.end(data);
  });
  server.keepAliveTimeout = 1000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    override: (p, h) => overrides.set(p, h),
    clear: () => overrides.clear(),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

// A handler that sends bytes without end (no length), until the client hangs up.
export function endless(req, res) {
  res.writeHead(200);
  const chunk = Buffer.alloc(65536, 0x41);
  let sent = 0;
  const pump = () => {
    while (sent < 256 * 1024 * 1024) {
      sent += chunk.length;
      if (!res.write(chunk)) return res.once('drain', pump);
    }
    res.end();
  };
  res.on('close', () => { sent = Infinity; });
  pump();
}
