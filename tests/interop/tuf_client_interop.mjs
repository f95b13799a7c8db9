// fwseal's TUF client against repositories written with @tufjs/models: it must accept them
// (ed25519, ecdsa and rsa keys, delegations, hash bins, root rotation) and reject each attack.
// Usage: FWSEAL=/path/to/fwseal node tuf_client_interop.mjs TMPDIR
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { endless, inDays, newKey, Repo, serve, sha256hex } from './tuf_client_repo.mjs';

const FWSEAL = process.env.FWSEAL;
const TMP = process.argv[2];
if (!FWSEAL || !TMP) {
  console.error('usage: FWSEAL=... node tuf_client_interop.mjs TMPDIR');
  process.exit(2);
}

function run(args) {
  return new Promise((resolve) => {
    execFile(FWSEAL, args, { timeout: 60000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

class Client {
  constructor(dir, server) {
    this.dir = path.join(dir, 'client-metadata');
    this.tdir = path.join(dir, 'client-targets');
    this.server = server;
    this.rootFile = path.join(dir, 'trusted-root.json');
  }
  init(rootBytes) {
    fs.writeFileSync(this.rootFile, rootBytes);
    return run(['tuf-client', '--metadata-dir', this.dir, 'init', this.rootFile]);
  }
  refresh() {
    return run(['tuf-client', '--metadata-dir', this.dir, '--metadata-url',
      `${this.server.url}/metadata`, 'refresh']);
  }
  download(...names) {
    const args = ['tuf-client', '--metadata-dir', this.dir, '--metadata-url',
      `${this.server.url}/metadata`];
    for (const n of names) args.push('--target-name', n);
    args.push('--target-base-url', `${this.server.url}/targets`, '--target-dir', this.tdir,
      'download');
    return run(args);
  }
  stored(name) {
    return fs.readFileSync(path.join(this.dir, name));
  }
  has(name) {
    return fs.existsSync(path.join(this.dir, name));
  }
  target(name) {
    const enc = encodeURIComponent(name).replace(/^\./, '%2E')
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const p = path.join(this.tdir, enc);
    return fs.existsSync(p) ? fs.readFileSync(p) : null;
  }
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}
async function ok(p, what) {
  const r = await p;
  check(r.code === 0, `${what}: exit ${r.code}, want 0; stderr: ${r.stderr.trim()}`);
  return r;
}
async function fails(p, what, re) {
  const r = await p;
  check(r.code === 1, `${what}: exit ${r.code}, want 1; stderr: ${r.stderr.trim()}`);
  if (process.env.TUF_DEBUG) console.log(`    [${what}] ${r.stderr.trim()}`);
  if (re) check(re.test(r.stderr), `${what}: stderr ${JSON.stringify(r.stderr.trim())} !~ ${re}`);
  return r;
}

const scenarios = [];
const scenario = (name, fn, opts = {}) => scenarios.push({ name, fn, opts });

// A repository with one target, published, and a client initialised with its first root.
async function setup(ctx, opts = {}) {
  const repo = new Repo(path.join(ctx.dir, 'repo'), opts);
  ctx.repo = repo;
  ctx.server = await serve(repo.dir);
  ctx.client = new Client(ctx.dir, ctx.server);
  repo.addTarget('targets', 'file1.txt', 'hello, world\n');
  opts.before?.(repo);
  const root = repo.writeRoot();
  repo.publish();
  await ok(ctx.client.init(root), 'init');
  return { repo, client: ctx.client, server: ctx.server };
}

// ---- accepted repositories ------------------------------------------------------------------

scenario('refresh stores verified metadata byte for byte under unversioned names', async (ctx) => {
  const { repo, client } = await setup(ctx);
  await ok(client.refresh(), 'refresh');
  check(client.stored('root.json').equals(repo.file('1.root.json')), 'root.json differs');
  check(client.stored('timestamp.json').equals(repo.file('timestamp.json')), 'timestamp differs');
  check(client.stored('snapshot.json').equals(repo.file('1.snapshot.json')), 'snapshot differs');
  check(client.stored('targets.json').equals(repo.file('1.targets.json')), 'targets differs');
  const names = fs.readdirSync(client.dir).sort().join(' ');
  check(names === 'root.json snapshot.json targets.json timestamp.json', `metadata dir: ${names}`);
  // A second refresh with nothing new succeeds and leaves the files as they are.
  await ok(client.refresh(), 'second refresh');
  check(client.stored('timestamp.json').equals(repo.file('timestamp.json')), 'timestamp changed');
});

scenario('download fetches a target once and then uses the cached copy', async (ctx) => {
  const { repo, client, server } = await setup(ctx);
  await ok(client.download('file1.txt'), 'download');
  check(client.target('file1.txt')?.toString() === 'hello, world\n', 'stored target differs');
  const hashed = `/targets/${repo.roles.targets.targets['file1.txt'].hashes.sha256}.file1.txt`;
  const count = () => server.log.filter((p) => p === hashed).length;
  check(count() === 1, `target fetched ${count()} times`);
  await ok(client.download('file1.txt'), 'second download');
  check(count() === 1, 'a target already present was fetched again');
  // A changed target is fetched again and stored under the same name.
  repo.addTarget('targets', 'file1.txt', 'hello again\n');
  repo.release('targets');
  await ok(client.download('file1.txt'), 'download of the changed target');
  check(client.target('file1.txt')?.toString() === 'hello again\n', 'changed target not stored');
  await fails(client.download('missing.txt'), 'unknown target', /no trusted targets role/);
});

scenario('without consistent snapshots, with odd target names', async (ctx) => {
  const { repo, client, server } = await setup(ctx, { consistent: false });
  repo.addTarget('targets', 'dir/a b.txt', 'spaced');
  repo.addTarget('targets', '.hidden', 'dot');
  repo.release('targets');
  await ok(client.download('dir/a b.txt', '.hidden'), 'download');
  check(client.target('dir/a b.txt')?.toString() === 'spaced', 'spaced target');
  check(client.target('.hidden')?.toString() === 'dot', 'dot target');
  check(server.log.includes('/metadata/snapshot.json'), 'snapshot not fetched by plain name');
  check(server.log.includes('/targets/dir/a b.txt'), 'target not fetched by plain name');
});

scenario('ecdsa and rsa (both salt lengths) keys', async (ctx) => {
  const { client } = await setup(ctx, {
    keyTypes: { root: 'ecdsa', timestamp: 'rsa', snapshot: 'rsa-max-salt', targets: 'ecdsa' },
  });
  await ok(client.download('file1.txt'), 'download');
});

scenario('delegations, nested, with ecdsa keys and threshold 2', async (ctx) => {
  const { repo, client } = await setup(ctx);
  repo.delegate('targets', 'role-a', { paths: ['a/*'], keyType: 'ecdsa', nkeys: 2, threshold: 2 });
  repo.delegate('role-a', 'role-b', { paths: ['a/b*'] });
  repo.addTarget('role-a', 'a/x.txt', 'in a');
  repo.addTarget('role-b', 'a/bz.txt', 'in b');
  repo.release('targets');
  await ok(client.download('a/bz.txt', 'a/x.txt'), 'download');
  check(client.target('a/bz.txt')?.toString() === 'in b', 'a/bz.txt');
  check(client.stored('role-a.json').equals(repo.file('1.role-a.json')), 'role-a.json stored');
  check(client.stored('role-b.json').equals(repo.file('1.role-b.json')), 'role-b.json stored');
  // role-b is trusted for a/b* only: a target it lists outside that is not found.
  repo.addTarget('role-b', 'a/c.txt', 'outside');
  repo.release('role-b');
  await fails(client.download('a/c.txt'), 'target outside the delegated paths');
});

scenario('a terminating delegation ends the search', async (ctx) => {
  const { repo, client } = await setup(ctx);
  repo.delegate('targets', 'first', { paths: ['t/*'], terminating: true });
  repo.delegate('targets', 'second', { paths: ['t/*'] });
  repo.addTarget('second', 't/x', 'x');
  repo.release('targets');
  await fails(client.download('t/x'), 'target behind a terminating role');
  check(!client.has('second.json'), 'the role after a terminating one was fetched');
  repo.roles.targets.delegations.roles[0].terminating = false;
  repo.release('targets');
  await ok(client.download('t/x'), 'non-terminating');
});

scenario('path_hash_prefixes delegations', async (ctx) => {
  const { repo, client } = await setup(ctx);
  const hex = '0123456789abcdef';
  for (let i = 0; i < 4; i++)
    repo.delegate('targets', `h${i}`, { path_hash_prefixes: [...hex.slice(4 * i, 4 * i + 4)] });
  const names = ['p/one', 'p/two', 'p/three', 'p/four', 'p/five'];
  for (const n of names) repo.addTarget(`h${Math.floor(parseInt(sha256hex(n)[0], 16) / 4)}`, n, n);
  repo.release('targets');
  await ok(client.download(...names), 'download');
  for (const n of names) check(client.target(n)?.toString() === n, n);
});

scenario('succinct hash bins (TAP 15)', async (ctx) => {
  const { repo, client, server } = await setup(ctx);
  repo.succinct('targets', 5, 'bin', 'ecdsa');
  const names = Array.from({ length: 40 }, (_, i) => `fw/image-${i}.bin`);
  for (const n of names) repo.addTarget(repo.binFor(5, 'bin', n), n, `image ${n}`);
  repo.release('targets');
  await ok(client.download(names[3], names[17]), 'download');
  check(client.target(names[17])?.toString() === `image ${names[17]}`, 'bin target');
  const bins = server.log.filter((p) => /bin-[0-9a-f]+\.json$/.test(p));
  check(bins.length <= 2, `fetched ${bins.length} bins for 2 targets`);
  await fails(client.download('fw/absent.bin'), 'absent target in a bin');
});

scenario('root rotation over two versions', async (ctx) => {
  const { repo, client } = await setup(ctx);
  await ok(client.refresh(), 'refresh');
  repo.rotateRoot((r) => { r.keys.root = [r.keys.root[0], newKey('ecdsa')]; r.threshold.root = 2; });
  repo.rotateRoot((r) => { r.keys.timestamp = [newKey('ecdsa')]; });
  repo.release();
  await ok(client.refresh(), 'refresh after rotation');
  check(client.stored('root.json').equals(repo.file('3.root.json')), 'root.json is not v3');
});

scenario('fast-forward recovery after a timestamp key rotation', async (ctx) => {
  const { repo, client } = await setup(ctx);
  repo.version.timestamp = 1000; // a compromised timestamp key pushed the version far ahead
  repo.publish();
  await ok(client.refresh(), 'refresh at 1000');
  repo.rotateRoot((r) => { r.keys.timestamp = [newKey('ed25519')]; });
  repo.version.timestamp = 1;
  repo.release();
  await ok(client.refresh(), 'refresh after recovery');
  check(client.stored('timestamp.json').equals(repo.file('timestamp.json')), 'timestamp v2 stored');
});

// ---- attacks ----------------------------------------------------------------------------------

scenario('rollback: root', async (ctx) => {
  const { repo, client } = await setup(ctx);
  const v1 = repo.file('1.root.json');
  repo.rotateRoot(() => {});
  fs.writeFileSync(path.join(repo.meta, '2.root.json'), v1);
  await fails(client.refresh(), '2.root.json holding version 1', /rollback|version 1/);
  check(client.stored('root.json').equals(v1), 'root.json changed');
});

scenario('rollback: timestamp', async (ctx) => {
  const { repo, client } = await setup(ctx);
  const ts1 = repo.file('timestamp.json');
  repo.release();
  await ok(client.refresh(), 'refresh');
  const ts2 = repo.file('timestamp.json');
  fs.writeFileSync(path.join(repo.meta, 'timestamp.json'), ts1);
  await fails(client.refresh(), 'old timestamp', /rollback|below/);
  check(client.stored('timestamp.json').equals(ts2), 'timestamp.json changed');
});

scenario('rollback: snapshot (a newer timestamp naming an older snapshot)', async (ctx) => {
  const { repo, client } = await setup(ctx);
  const snap1 = repo.file('1.snapshot.json');
  repo.release();
  await ok(client.refresh(), 'refresh');
  repo.hooks.timestamp = (s) => {
    s.meta['snapshot.json'] = { version: 1, length: snap1.length, hashes: { sha256: sha256hex(snap1) } };
  };
  repo.version.timestamp += 1;
  repo.publish();
  await fails(client.refresh(), 'timestamp naming snapshot 1', /below the trusted/);
});

async function metaRollback(ctx, role) {
  const { repo, client } = await setup(ctx);
  if (role !== 'targets') {
    repo.delegate('targets', role, { paths: ['d/*'] });
    repo.addTarget(role, 'd/x', 'x');
    repo.release('targets');
  }
  const old = repo.file(`${repo.version[role]}.${role}.json`);
  const oldVersion = repo.version[role];
  repo.release(role);
  await ok(client.download(role === 'targets' ? 'file1.txt' : 'd/x'), 'download');
  repo.hooks.snapshot = (s) => {
    s.meta[`${role}.json`] = { version: oldVersion, length: old.length, hashes: { sha256: sha256hex(old) } };
  };
  repo.release();
  await fails(client.refresh(), `snapshot listing ${role} at an older version`, /below the trusted/);
}
scenario('rollback: targets', (ctx) => metaRollback(ctx, 'targets'));
scenario('rollback: delegated targets role', (ctx) => metaRollback(ctx, 'role-d'));

scenario('freeze: expired timestamp, snapshot, targets and root', async (ctx) => {
  const { repo, client } = await setup(ctx);
  await ok(client.refresh(), 'refresh');
  for (const role of ['timestamp', 'snapshot', 'targets']) {
    const saved = repo.expires[role];
    repo.expires[role] = inDays(-1);
    repo.release(role === 'targets' ? 'targets' : undefined);
    await fails(client.refresh(), `expired ${role}`, /expired/);
    repo.expires[role] = saved;
  }
  repo.release('targets');
  await ok(client.refresh(), 'fresh again');
  repo.rotateRoot((r) => { r.expires.root = inDays(-1); });
  await fails(client.refresh(), 'expired root', /expired/);
});

scenario('mix-and-match: snapshot and targets from other releases', async (ctx) => {
  const { repo, client, server } = await setup(ctx);
  repo.release('targets');
  const snap2 = repo.file('2.snapshot.json');
  const targets2 = repo.file('2.targets.json');
  repo.release('targets');
  server.override('/metadata/3.snapshot.json', (req, res) => res.end(snap2));
  await fails(client.refresh(), 'snapshot 2 served as 3', /length|hash/);
  server.clear();
  server.override('/metadata/3.targets.json', (req, res) => res.end(targets2));
  await fails(client.refresh(), 'targets 2 served as 3', /length|hash/);
  server.clear();
  await ok(client.refresh(), 'refresh with the right files');
});

scenario('a target whose hash or length differs', async (ctx) => {
  const { repo, client, server } = await setup(ctx);
  const t = repo.roles.targets.targets['file1.txt'];
  const url = `/targets/${t.hashes.sha256}.file1.txt`;
  const good = 'hello, world\n';
  for (const [what, body] of [['same length, other bytes', 'hello, World\n'],
                              ['longer', `${good}!`], ['shorter', good.slice(0, -1)]]) {
    server.override(url, (req, res) => res.end(body));
    await fails(client.download('file1.txt'), `target ${what}`, /hash|length|bytes/);
    check(client.target('file1.txt') === null, `a bad target (${what}) was stored`);
  }
  server.clear();
  await ok(client.download('file1.txt'), 'good target');
});

scenario('endless data for timestamp, snapshot and target', async (ctx) => {
  const { repo, client, server } = await setup(ctx);
  for (const p of ['/metadata/timestamp.json', '/metadata/1.snapshot.json']) {
    server.override(p, endless);
    await fails(client.refresh(), `endless ${p}`, /cap|bytes/);
    server.clear();
  }
  const t = repo.roles.targets.targets['file1.txt'];
  server.override(`/targets/${t.hashes.sha256}.file1.txt`, endless);
  await fails(client.download('file1.txt'), 'endless target', /bytes/);
  check(client.target('file1.txt') === null, 'endless target stored');
});

scenario('signatures below the threshold', async (ctx) => {
  const { repo, client } = await setup(ctx);
  repo.rotateRoot((r) => { r.keys.timestamp.push(newKey('ed25519')); r.threshold.timestamp = 2; });
  repo.release();
  await ok(client.refresh(), 'refresh with two signatures');
  repo.signHook.timestamp = (md, keys) => md.sign(keys[0].signer());
  repo.release();
  await fails(client.refresh(), 'one of two signatures', /threshold/);
});

scenario('duplicate signatures and one key under two key IDs', async (ctx) => {
  const { repo, client } = await setup(ctx);
  repo.rotateRoot((r) => { r.keys.snapshot.push(newKey('ed25519')); r.threshold.snapshot = 2; });
  repo.release();
  await ok(client.refresh(), 'refresh');
  repo.signHook.snapshot = (md, keys) => md.sign(keys[0].signer());
  repo.post.snapshot = (json) => json.signatures.push({ ...json.signatures[0] });
  repo.release();
  await fails(client.refresh(), 'the same signature twice');
  // The same public key listed under a second key ID, signing under both.
  repo.signHook.snapshot = undefined;
  repo.post.snapshot = undefined;
  const k = repo.keys.snapshot[0];
  const alias = { ...k, keyid: 'f'.repeat(64) };
  repo.rotateRoot((r) => { r.keys.snapshot = [k, alias]; });
  repo.signHook.snapshot = (md) => { md.sign(k.signer()); md.sign(k.signer(alias.keyid)); };
  repo.release();
  await fails(client.refresh(), 'one key under two key IDs', /threshold/);
});

scenario('root rotations that skip a version or lack the old signatures', async (ctx) => {
  const { repo, client } = await setup(ctx);
  repo.version.root = 2; // the next root says version 3 but is served as 2.root.json
  repo.rotateRoot(() => {});
  fs.renameSync(path.join(repo.meta, '3.root.json'), path.join(repo.meta, '2.root.json'));
  await fails(client.refresh(), '2.root.json holding version 3', /version 3/);
  repo.version.root = 1;
  repo.rotateRoot((r) => { r.keys.root = [newKey('ed25519')]; });
  // Signed by the new key only.
  repo.writeRoot(repo.keys.root);
  await fails(client.refresh(), 'root not signed by the old root keys', /threshold/);
  check(client.stored('root.json').equals(repo.file('1.root.json')), 'root.json changed');
});

// ---- driver -------------------------------------------------------------------------------------

let passed = 0;
let failed = 0;
for (const [i, s] of scenarios.entries()) {
  const dir = fs.mkdtempSync(path.join(TMP, `s${i}-`));
  const ctx = { dir };
  const t0 = Date.now();
  try {
    await s.fn(ctx);
    passed++;
    console.log(`ok ${i + 1} - ${s.name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`not ok ${i + 1} - ${s.name}: ${e.message}`);
  } finally {
    await ctx.server?.close();
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
