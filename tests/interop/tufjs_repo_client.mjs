// tuf-js, a TUF client we did not write, against a repository made by fwseal. One run: refresh
// (from the trusted metadata in --cache, seeded with --root the first time) and look up one
// target; with --out, download it there. Prints a JSON summary; exits 1 on any TUF error.
//   node tufjs_repo_client.mjs --url http://127.0.0.1:PORT --cache DIR [--root FILE]
//        --target NAME [--out FILE]
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Updater } from 'tuf-js';

function args(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i += 2) o[argv[i].replace(/^--/, '')] = argv[i + 1];
  return o;
}

const o = args(process.argv.slice(2));
fs.mkdirSync(o.cache, { recursive: true });
const trusted = path.join(o.cache, 'root.json');
if (!fs.existsSync(trusted)) fs.copyFileSync(o.root, trusted);
const targetDir = path.join(o.cache, 'targets');
fs.mkdirSync(targetDir, { recursive: true });

const updater = new Updater({
  metadataBaseUrl: `${o.url}/metadata`,
  targetBaseUrl: `${o.url}/targets`,
  metadataDir: o.cache,
  targetDir,
  config: { fetchRetry: 0, fetchTimeout: 20000 },
});

try {
  await updater.refresh();
  const info = await updater.getTargetInfo(o.target);
  const out = { found: Boolean(info) };
  const ts = updater.trustedSet;
  out.versions = {
    root: ts.root.signed.version,
    timestamp: ts.timestamp.signed.version,
    snapshot: ts.snapshot.signed.version,
    targets: ts.targets.signed.version,
  };
  if (info) {
    out.length = info.length;
    out.custom = info.unrecognizedFields?.custom ?? info.custom;
    if (o.out) {
      const p = await updater.downloadTarget(info, o.out);
      out.sha256 = crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (e) {
  process.stderr.write(`tuf-js: ${e.constructor.name}: ${e.message}\n`);
  process.exit(1);
}
