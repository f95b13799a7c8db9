// A misbehaving HTTP server for the agent's download tests (loopback only).
//   /img            the image, with Range support
//   /drop/img       every response stops after DROP bytes (a drop at a different offset each time)
//   /norange/img    ignores Range (always 200 and the whole body), and drops like /drop
//   /stall/img      sends 1000 bytes, then nothing, and keeps the connection open
//   /endless        bytes without end
//   /flaky/img      503 for the first two requests, then the image
//   /gone           404; /forbidden 403
//   /count          how many requests each path got, as JSON
// Usage: node test_agent_httpd.mjs IMAGE PORTFILE
import http from 'node:http';
import fs from 'node:fs';

const [image, portFile] = process.argv.slice(2);
const body = fs.readFileSync(image);
const counts = {};
let seed = 7;
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };

function range(req) {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range || '');
  return m ? Number(m[1]) : null;
}

function serve(req, res, { ranges = true, drop = 0 }) {
  const from = ranges ? range(req) : null;
  if (from !== null && from >= body.length) {
    res.writeHead(416, { 'Content-Range': `bytes */${body.length}` });
    return res.end();
  }
  const start = from ?? 0;
  const headers = { 'Content-Length': body.length - start, 'Accept-Ranges': 'bytes' };
  if (from !== null) headers['Content-Range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
  res.writeHead(from !== null ? 206 : 200, headers);
  const part = body.subarray(start);
  if (drop > 0 && part.length > drop) {
    res.write(part.subarray(0, drop), () => setTimeout(() => req.socket.destroy(), 20));
  } else {
    res.end(part);
  }
}

const server = http.createServer((req, res) => {
  counts[req.url] = (counts[req.url] || 0) + 1;
  switch (req.url) {
    case '/img': return serve(req, res, {});
    case '/drop/img': return serve(req, res, { drop: 20000 + rand(40000) });
    case '/norange/img': return serve(req, res, { ranges: false, drop: counts[req.url] < 3 ? 50000 : 0 });
    case '/flaky/img':
      if (counts[req.url] <= 2) { res.writeHead(503); return res.end('busy'); }
      return serve(req, res, {});
    case '/stall/img':
      res.writeHead(200, { 'Content-Length': body.length });
      res.write(body.subarray(0, 1000));
      return; // never ends
    case '/endless': {
      res.writeHead(200);
      const chunk = Buffer.alloc(65536, 0x41);
      const pump = () => { while (res.write(chunk)) {} };
      res.on('drain', pump);
      pump();
      return;
    }
    case '/gone': res.writeHead(404); return res.end('no such file');
    case '/forbidden': res.writeHead(403); return res.end('no');
    case '/count':
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(counts));
    default: res.writeHead(404); return res.end();
  }
});
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
// The test kills the server; never outlive it for long.
setTimeout(() => process.exit(0), 120000).unref();
