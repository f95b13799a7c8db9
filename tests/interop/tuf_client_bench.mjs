// Helpers for bench/tuf.sh.
//   node tuf_client_bench.mjs build DIR N      a repository of N targets in TAP 15 hash bins,
//                                              written with @tufjs/models; prints the target
//                                              path to look up
//   node tuf_client_bench.mjs serve DIR        serves DIR on 127.0.0.1, prints the base URL
//   node tuf_client_bench.mjs tufjs MDIR MURL TDIR TURL NAME
//                                              tuf-js: refresh, look NAME up, download it
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Repo, serve, sha256hex } from './tuf_client_repo.mjs';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'build') {
  const [dir, nText] = args;
  const n = Number(nText);
  const repo = new Repo(dir, { consistent: true });
  repo.snapshotHashes = false; // snapshot lists bin versions only, as large repositories do
  // About sqrt(N) bins of about sqrt(N) targets: snapshot and bin files both stay small.
  const bits = Math.max(1, Math.round(Math.log2(Math.sqrt(n))));
  repo.succinct('targets', bits, 'bin');
  for (let i = 0; i < n; i++) {
    const name = `fw/image-${i}.bin`;
    repo.roles[repo.binFor(bits, 'bin', name)].targets[name] =
      { length: 1024, hashes: { sha256: sha256hex(name) } };
  }
  const pick = `fw/image-${n >> 1}.bin`;
  repo.addTarget(repo.binFor(bits, 'bin', pick), pick, crypto.randomBytes(1024));
  repo.writeRoot();
  repo.publish();
  console.log(pick);
} else if (mode === 'serve') {
  const server = await serve(path.resolve(args[0]));
  console.log(server.url);
} else if (mode === 'tufjs') {
  const [metadataDir, metadataBaseUrl, targetDir, targetBaseUrl, name] = args;
  const { Updater } = await import('tuf-js');
  const updater = new Updater({ metadataDir, metadataBaseUrl, targetDir, targetBaseUrl });
  await updater.refresh();
  const info = await updater.getTargetInfo(name);
  if (!info) throw new Error(`${name}: not found`);
  fs.mkdirSync(targetDir, { recursive: true });
  await updater.downloadTarget(info, path.join(targetDir, encodeURIComponent(name)));
} else {
  console.error('usage: tuf_client_bench.mjs build DIR N | serve DIR | tufjs ...');
  process.exit(2);
}
