// A stranger's TLS client, run inside a test-bed host's network namespace (nsenter ... node this
// file '<json>'): connects to a TLS port with the given certificate (or none) and prints what
// it got as one JSON line. `tls`: after the handshake it sends a migration stream's first bytes
// (QEMU_VM_FILE_MAGIC, version 3) and reports every byte the server sent back and how the
// connection ended. `https`: one request, its status and body. `idle`: opens TCP (from address
// `from`, when given) and sends nothing. `stalled-hello`: sends a real TLS ClientHello (made by node's TLS client over a
// capturing stream) and then nothing. Both report when the server closed. Plain node, no imports of ours:
// it runs under the namespace's own view, outside vitest.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

const a = JSON.parse(process.argv[2] ?? '{}');
const creds = {
  ca: readFileSync(a.ca),
  ...(a.cert ? { cert: readFileSync(a.cert), key: readFileSync(a.key) } : {}),
};
const out = (o) => {
  process.stdout.write(JSON.stringify(o) + '\n');
  process.exit(0);
};

if (a.mode === 'https') {
  const body = a.body === undefined ? undefined : JSON.stringify(a.body);
  const req = https.request(
    {
      host: a.host,
      port: a.port,
      path: a.path,
      method: a.method,
      ...creds,
      headers: body ? { 'content-type': 'application/json' } : {},
      timeout: a.timeoutMs,
    },
    (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => out({ status: res.statusCode, body: text }));
    },
  );
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => out({ error: e.message, code: e.code }));
  req.end(body);
} else if (a.mode === 'idle' || a.mode === 'stalled-hello') {
  const t0 = Date.now();
  const raw = net.connect({ host: a.host, port: a.port, ...(a.from ? { localAddress: a.from } : {}) });
  const timer = setTimeout(() => out({ ended: 'timeout', ms: Date.now() - t0 }), a.timeoutMs);
  raw.on('error', () => undefined);
  // Read (and drop) what the server answers: an unread answer would hide its close.
  raw.resume();
  raw.on('close', () => {
    clearTimeout(timer);
    out({ ended: 'by-server', ms: Date.now() - t0 });
  });
  if (a.mode === 'stalled-hello') {
    let sent = false;
    const capture = new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        if (!sent) raw.write(chunk);
        sent = true;
        cb();
      },
    });
    tls.connect({ socket: capture, ...creds, servername: undefined }).on('error', () => undefined);
  }
} else {
  const t0 = Date.now();
  let handshake = false;
  let bytesIn = 0;
  let error;
  const s = tls.connect({ host: a.host, port: a.port, ...creds, servername: undefined });
  const timer = setTimeout(() => {
    s.destroy();
    out({ handshake, bytesIn, error, ended: 'timeout', ms: Date.now() - t0 });
  }, a.timeoutMs);
  s.on('secureConnect', () => {
    handshake = true;
    s.write(Buffer.from([0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3]));
  });
  s.on('data', (d) => (bytesIn += d.length));
  s.on('error', (e) => (error = e.code ?? e.message));
  s.on('close', () => {
    clearTimeout(timer);
    out({ handshake, bytesIn, error, ended: 'by-server', ms: Date.now() - t0 });
  });
}
