// The agent-to-agent client over real HTTPS (a CA and a host certificate made for the test, a
// node:https server as the peer): an error answer is a known outcome, unless the peer says in
// its details that it does not know yet (a commit sent to etcd without an answer). The source
// must then ask again and stay paused; taking it as a refusal would resume a guest whose
// commit may still apply on the target.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa, issueHostCert } from '../../credentials/ca.js';
import { HttpPeerLink } from './http-peer-link.js';

let dir: string;
let server: Server;
let url: string;
let tls: { cert: string; key: string; ca: string };

const answers: Record<string, { status: number; error: Record<string, unknown> }> = {
  '/v1/peer/migrations/unknown/finish': {
    status: 503,
    error: {
      code: 'VMHOP_ERR_CLUSTER_UNREACHABLE',
      message: 'the commit of `web` in etcd got no answer',
      details: { job: 'unknown', outcomeKnown: false },
    },
  },
  '/v1/peer/migrations/refused/finish': {
    status: 500,
    error: { code: 'VMHOP_ERR_MIGRATION_FAILED', message: 'etcd refused the owner change', details: {} },
  },
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-peer-link-'));
  await initCa(join(dir, 'ca'));
  const host = await issueHostCert(join(dir, 'ca'), join(dir, 'b'), 'b', { ips: ['127.0.0.1'] });
  tls = { cert: host.cert, key: host.key, ca: host.ca };
  server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    const a = answers[req.url ?? ''];
    req.resume();
    res.writeHead(a?.status ?? 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: a?.error ?? { code: 'VMHOP_ERR_ROUTE_NOT_FOUND', message: 'no' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('HttpPeerLink error answers', () => {
  it('keeps an answer that says its outcome is not known unknown', async () => {
    const link = new HttpPeerLink('b', url, tls, 5_000);
    await expect(link.finish('unknown', 3)).rejects.toMatchObject({
      code: 'VMHOP_ERR_CLUSTER_UNREACHABLE',
      details: { outcomeKnown: false, peer: 'b', peerCode: 'VMHOP_ERR_CLUSTER_UNREACHABLE' },
    });
    await link.close();
  });

  it('takes any other error answer as a known outcome (a refusal)', async () => {
    const link = new HttpPeerLink('b', url, tls, 5_000);
    await expect(link.finish('refused', 3)).rejects.toMatchObject({
      code: 'VMHOP_ERR_MIGRATION_FAILED',
      details: { outcomeKnown: true, peer: 'b' },
    });
    await link.close();
  });
});
