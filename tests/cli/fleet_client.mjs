// A device-side peer for the fleet tests, written against docs/AGENT.md with Node's own TLS and
// crypto (not fwseal code): mutual TLS with a device certificate, assignments checked against
// assignment.pub, reports signed as DSSE envelopes.
//
//   node fleet_client.mjs assign URL CA CERT KEY ASSIGNMENT_PUB DEVICE [NONCE]
//       prints {"status", "payload"} (payload only when the signature and nonce check out)
//   node fleet_client.mjs target URL CA CERT KEY ASSIGNMENT_PUB DEVICE
//       prints the checked assignment's target, or "stay" (exit 1 when it does not check out)
//   node fleet_client.mjs report URL CA CERT KEY SIGN_KEY PAYLOAD_JSON
//       prints {"status", "body"}
//   node fleet_client.mjs send URL CA CERT KEY SIGN_KEY DEVICE TYPE TARGET SHA256 [SEQ] [TIME]
//       payload and report in one: prints {"status", "body"}
//   node fleet_client.mjs payload DEVICE TYPE TARGET SHA256 [SEQ] [TIME]
//       prints a report payload like the agent's
//   node fleet_client.mjs storm URL CA DIR N ACKS TARGET SHA256 ROUNDS
//       devices DIR/dI/device.crt + DIR/dI.key + DIR/dI.id (I = 1..N), all at once, each send
//       ROUNDS install reports one after the other (seq 1..ROUNDS, a second apart in "time");
//       every acknowledged report is appended to ACKS ("DEVICE SEQ") as soon as it arrives
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';

const REPORT_TYPE = 'application/vnd.fwseal.report+json';
const ASSIGN_TYPE = 'application/vnd.fwseal.assignment+json';

function pae(type, body) {
  const t = Buffer.from(type);
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${body.length} `), body]);
}

function request(url, ca, cert, key, method, path, body) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const req = https.request({
      host: u.hostname, port: u.port, path, method, ca, cert, key, servername: 'localhost',
      headers: body ? {'content-type': 'application/json', 'content-length': body.length} : {},
      timeout: 20000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode, body: Buffer.concat(chunks)}));
    });
    req.on('error', (e) => resolve({status: 0, body: Buffer.from(String(e))}));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (body) req.write(body);
    req.end();
  });
}

function sign(payload, keyPem) {
  const body = Buffer.from(payload);
  const key = crypto.createPrivateKey(keyPem);
  const sig = crypto.sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256',
    pae(REPORT_TYPE, body), key);
  return Buffer.from(JSON.stringify({
    payload: body.toString('base64'), payloadType: REPORT_TYPE,
    signatures: [{sig: sig.toString('base64')}],
  }));
}

function makePayload(device, type, target, sha, seq = 1, time = '2027-01-15T08:00:00Z') {
  const [product, to] = target.split('/');
  return JSON.stringify({
    type, schema: 1, id: `${device}-${seq}`, seq: Number(seq), device, product,
    fromVersion: '1.0.0', toVersion: to, target, url: `https://localhost/repo/targets/${target}`,
    image: {sha256: sha, length: 300000}, result: type === 'install' ? 'success' : 'failure',
    reason: type === 'install' ? '' : 'health check failed (exit status 3)', slot: 'B', time,
  });
}

async function assign(url, ca, cert, key, pubFile, device, nonce) {
  nonce = nonce || crypto.randomBytes(16).toString('hex');
  const r = await request(url, fs.readFileSync(ca), fs.readFileSync(cert), fs.readFileSync(key),
    'GET', `/api/v1/device/assignment?nonce=${nonce}`);
  const out = {status: r.status};
  if (r.status !== 200) {
    out.body = r.body.toString();
    return out;
  }
  const env = JSON.parse(r.body);
  const body = Buffer.from(env.payload, 'base64');
  const pub = crypto.createPublicKey(fs.readFileSync(pubFile));
  const ok = env.payloadType === ASSIGN_TYPE && env.signatures.some((s) =>
    crypto.verify(null, pae(env.payloadType, body), pub, Buffer.from(s.sig, 'base64')));
  const p = JSON.parse(body);
  if (!ok) out.error = 'bad signature';
  else if (p.nonce !== nonce) out.error = 'nonce not echoed';
  else if (p.device !== device) out.error = 'another device';
  else out.payload = p;
  return out;
}

async function storm(url, ca, dir, n, acks, target, sha, rounds) {
  const caPem = fs.readFileSync(ca);
  const fd = fs.openSync(acks, 'a');
  let acked = 0, refused = 0;
  await Promise.all(Array.from({length: n}, async (_, i) => {
    const name = `d${i + 1}`;
    const device = fs.readFileSync(`${dir}/${name}.id`, 'utf8').trim();
    const key = fs.readFileSync(`${dir}/${name}.key`);
    const cert = fs.readFileSync(`${dir}/${name}/device.crt`);
    for (let seq = 1; seq <= rounds; seq++) {
      const time = `2027-01-15T08:00:${String(seq).padStart(2, '0')}Z`;
      const env = sign(makePayload(device, 'install', target, sha, seq, time), key);
      const r = await request(url, caPem, cert, key, 'POST', '/api/v1/device/report', env);
      if (r.status >= 200 && r.status < 300) {
        fs.writeSync(fd, `${device} ${seq}\n`);
        acked++;
      } else {
        refused++;
        if (r.status !== 0) process.stderr.write(`${device} ${seq}: ${r.status} ${r.body}\n`);
      }
    }
  }));
  fs.closeSync(fd);
  return {acked, refused};
}

const [cmd, ...a] = process.argv.slice(2);
let out;
if (cmd === 'assign') {
  out = await assign(...a);
} else if (cmd === 'target') {
  const r = await assign(...a);
  if (r.status !== 200 || !r.payload) {
    process.stderr.write(JSON.stringify(r) + '\n');
    process.exit(1);
  }
  process.stdout.write(`${r.payload.target === null ? 'stay' : r.payload.target}\n`);
  process.exit(0);
} else if (cmd === 'report') {
  const [url, ca, cert, key, signKey, payload] = a;
  const env = sign(payload, fs.readFileSync(signKey));
  if (process.env.FLEET_ENVELOPE_OUT) fs.writeFileSync(process.env.FLEET_ENVELOPE_OUT, env);
  const r = await request(url, fs.readFileSync(ca), fs.readFileSync(cert), fs.readFileSync(key),
    'POST', '/api/v1/device/report', env);
  out = {status: r.status, body: r.body.toString()};
} else if (cmd === 'send') {
  const [url, ca, cert, key, signKey, ...p] = a;
  const env = sign(makePayload(...p), fs.readFileSync(signKey));
  if (process.env.FLEET_ENVELOPE_OUT) fs.writeFileSync(process.env.FLEET_ENVELOPE_OUT, env);
  const r = await request(url, fs.readFileSync(ca), fs.readFileSync(cert), fs.readFileSync(key),
    'POST', '/api/v1/device/report', env);
  out = {status: r.status, body: r.body.toString()};
} else if (cmd === 'raw') {
  const [url, ca, cert, key, file] = a;
  const r = await request(url, fs.readFileSync(ca), fs.readFileSync(cert), fs.readFileSync(key),
    'POST', '/api/v1/device/report', fs.readFileSync(file));
  out = {status: r.status, body: r.body.toString()};
} else if (cmd === 'payload') {
  process.stdout.write(makePayload(...a));
  process.exit(0);
} else if (cmd === 'storm') {
  out = await storm(a[0], a[1], a[2], Number(a[3]), a[4], a[5], a[6], Number(a[7] || 1));
} else {
  console.error('unknown command');
  process.exit(2);
}
process.stdout.write(JSON.stringify(out) + '\n');
