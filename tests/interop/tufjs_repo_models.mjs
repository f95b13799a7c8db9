// @tufjs/models, the metadata model tuf-js is built on, loads every metadata file of a
// repository written by fwseal and checks each signature with its own verifyDelegate, so an
// encoding difference (canonical JSON, key formats, signature encoding) shows up here.
//   node tufjs_repo_models.mjs METADATA_DIR
// Prints {"verified": N, "files": [...]}; exits 1 naming the first file that fails.
import fs from 'node:fs';
import path from 'node:path';
import { Metadata, MetadataKind } from '@tufjs/models';

const dir = process.argv[2];
const load = (file, kind) =>
  Metadata.fromJSON(kind, JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
const verified = [];

function check(file, fn) {
  try {
    fn();
    verified.push(file);
  } catch (e) {
    process.stderr.write(`@tufjs/models: ${file}: ${e.constructor.name}: ${e.message}\n`);
    process.exit(1);
  }
}

// Roots: each version verifies itself, and the one before it verifies it (rotation).
const rootVersions = files
  .map((f) => /^(\d+)\.root\.json$/.exec(f))
  .filter(Boolean)
  .map((m) => Number(m[1]))
  .sort((a, b) => a - b);
const roots = new Map();
for (const v of rootVersions) {
  const file = `${v}.root.json`;
  const md = load(file, MetadataKind.Root);
  roots.set(v, md);
  check(file, () => {
    if (md.signed.version !== v) throw new Error(`version ${md.signed.version} in ${file}`);
    md.verifyDelegate(MetadataKind.Root, md);
    if (roots.has(v - 1)) roots.get(v - 1).verifyDelegate(MetadataKind.Root, md);
  });
}
const root = roots.get(rootVersions[rootVersions.length - 1]);
check('root.json', () => {
  const md = load('root.json', MetadataKind.Root);
  if (md.signed.version !== root.signed.version) throw new Error('root.json is not the newest');
  root.verifyDelegate(MetadataKind.Root, md);
});

// The current timestamp -> snapshot -> targets -> delegated roles, each by its delegator.
const ts = load('timestamp.json', MetadataKind.Timestamp);
check('timestamp.json', () => root.verifyDelegate(MetadataKind.Timestamp, ts));
const snapFile = `${ts.signed.snapshotMeta.version}.snapshot.json`;
const snap = load(snapFile, MetadataKind.Snapshot);
check(snapFile, () => {
  ts.signed.snapshotMeta.verify(fs.readFileSync(path.join(dir, snapFile)));
  root.verifyDelegate(MetadataKind.Snapshot, snap);
});
const targetsFile = `${snap.signed.meta['targets.json'].version}.targets.json`;
const targets = load(targetsFile, MetadataKind.Targets);
check(targetsFile, () => {
  snap.signed.meta['targets.json'].verify(fs.readFileSync(path.join(dir, targetsFile)));
  root.verifyDelegate(MetadataKind.Targets, targets);
});
for (const [name, meta] of Object.entries(snap.signed.meta)) {
  if (name === 'targets.json') continue;
  const role = name.replace(/\.json$/, '');
  const file = `${meta.version}.${role}.json`;
  check(file, () => {
    const md = load(file, MetadataKind.Targets);
    meta.verify(fs.readFileSync(path.join(dir, file)));
    targets.verifyDelegate(role, md);
  });
}
process.stdout.write(JSON.stringify({ verified: verified.length, files: verified }) + '\n');
