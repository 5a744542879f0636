// Two node:tls endpoints with certificates from the cluster CA, as two agents use them: mutual TLS
// where each side checks the other's chain, and the server's SAN against the address dialled,
// over IPv4 and IPv6. A certificate from another CA is refused.
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initCa, issueHostCert, type IssuedCert } from './ca.js';

let dir: string;
let server: Server | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-tls-'));
});
afterEach(async () => {
  server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

const material = async (c: IssuedCert) => ({
  key: await readFile(c.key),
  cert: await readFile(c.cert),
  ca: await readFile(c.ca),
});

async function listen(c: IssuedCert, host: string): Promise<{ port: number; peers: string[] }> {
  const peers: string[] = [];
  server = createServer({ ...(await material(c)), requestCert: true, rejectUnauthorized: true }, (s) => {
    peers.push(String(s.getPeerCertificate().subject.CN));
    s.end('hello');
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { port: (server.address() as { port: number }).port, peers };
}

async function dial(c: IssuedCert, host: string, port: number): Promise<{ text: string; serverCn: string }> {
  const s: TLSSocket = connect({ ...(await material(c)), host, port });
  await once(s, 'secureConnect');
  const serverCn = String(s.getPeerCertificate().subject.CN);
  let text = '';
  s.on('data', (d: Buffer) => (text += d.toString()));
  await once(s, 'end');
  s.destroy();
  return { text, serverCn };
}

describe('mutual TLS with cluster certificates', () => {
  it.each([['127.0.0.1'], ['::1']])('authenticates both sides dialled at %s', async (address) => {
    await initCa(join(dir, 'ca'));
    const a = await issueHostCert(join(dir, 'ca'), join(dir, 'a'), 'host-a', { ips: ['127.0.0.1', '::1'] });
    const b = await issueHostCert(join(dir, 'ca'), join(dir, 'b'), 'host-b', { ips: ['127.0.0.2'] });
    const { port, peers } = await listen(a, address);
    const r = await dial(b, address, port);
    expect(r).toEqual({ text: 'hello', serverCn: 'host-a' });
    expect(peers).toEqual(['host-b']);
  });

  it('refuses a server whose SAN lacks the address dialled', async () => {
    await initCa(join(dir, 'ca'));
    const a = await issueHostCert(join(dir, 'ca'), join(dir, 'a'), 'host-a', { ips: ['127.0.0.2'] });
    const b = await issueHostCert(join(dir, 'ca'), join(dir, 'b'), 'host-b', { ips: ['127.0.0.3'] });
    const { port } = await listen(a, '127.0.0.1');
    await expect(dial(b, '127.0.0.1', port)).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('refuses a client whose certificate comes from another CA', async () => {
    await initCa(join(dir, 'ca'));
    await initCa(join(dir, 'other-ca'));
    const a = await issueHostCert(join(dir, 'ca'), join(dir, 'a'), 'host-a', { ips: ['127.0.0.1'] });
    const stranger = await issueHostCert(join(dir, 'other-ca'), join(dir, 's'), 'host-a', {
      ips: ['127.0.0.1'],
    });
    const { port, peers } = await listen(a, '127.0.0.1');
    const refusals: Error[] = [];
    server!.on('tlsClientError', (e: Error) => refusals.push(e));
    const s = connect({ ...(await material(stranger)), ca: await readFile(a.ca), host: '127.0.0.1', port });
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', () => undefined);
    await once(s, 'close');
    expect(text).toBe('');
    expect(refusals).toHaveLength(1);
    expect(peers).toEqual([]);
  });
});
