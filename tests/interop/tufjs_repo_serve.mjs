// A static file server for the tuf-js interop test: serves one directory on 127.0.0.1 at a
// free port chosen by the system, prints the port on stdout, and stops when its standard input
// closes (so it never outlives the test that started it) or after a time limit.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? '.');
const limitMs = Number(process.argv[3] ?? 600000);

const server = http.createServer((req, res) => {
  let rel;
  try {
    rel = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const file = path.resolve(root, '.' + rel);
  if (req.method !== 'GET' || !file.startsWith(root + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': data.length }).end(data);
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
setTimeout(stop, limitMs).unref();
