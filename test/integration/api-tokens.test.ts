// Named client tokens and their roles at the agent's front door (issue 12, "who did what"):
// a token added to the registry, by the agent or by `vmhop-agent token add` in another
// process, is accepted at once and refused once removed; a read-only token reads everything
// a client may read and changes nothing; every request is logged with its token's name.
import { Writable } from 'node:stream';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openDb } from '../../src/agent/db/open.js';
import { TokenStore } from '../../src/agent/db/token-store.js';
import { expectApiError, quoted } from './helpers/api-expect.js';
import { TestAgent, TOKEN } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let agent: TestAgent;
afterEach(async () => {
  await agent?.close();
});

const as = (token: string) => ({ authorization: `Bearer ${token}` });

/** A second connection to the agent's registry: what `vmhop-agent token add` opens from its own process. */
function otherProcessTokens(a: TestAgent): { store: TokenStore; close: () => void } {
  const db = openDb(join(a.dataDir, 'registry.sqlite'));
  return { store: new TokenStore(db), close: () => db.close() };
}

describe('named tokens', () => {
  it('accepts a token added to the registry while the agent runs, and refuses it once removed', async () => {
    agent = await TestAgent.start();
    const other = otherProcessTokens(agent);
    try {
      const { token } = other.store.add('ci');
      expect((await agent.raw({ method: 'GET', url: '/v1/vms', headers: as(token) })).status).toBe(200);
      other.store.remove('ci');
      expectApiError(
        await agent.raw({ method: 'GET', url: '/v1/vms', headers: as(token) }),
        401,
        'VMHOP_ERR_AUTH_INVALID',
        /token list/,
      );
    } finally {
      other.close();
    }
  });

  it('keeps the config tokenHashes working next to named tokens', async () => {
    agent = await TestAgent.start();
    new TokenStore(agent.services.db).add('ops');
    expect((await agent.api('GET', '/v1/vms')).status).toBe(200);
  });

  it('stores only the hash of a token, never the token', async () => {
    agent = await TestAgent.start();
    const { token } = new TokenStore(agent.services.db).add('ops');
    const dump = JSON.stringify(agent.services.db.prepare('SELECT * FROM tokens').all());
    expect(dump).toContain('ops');
    expect(dump).not.toContain(token);
  });
});

describe('a read-only token', () => {
  it('reads what a client may read: VMs, pools, host, jobs, the audit log', async () => {
    agent = await TestAgent.start();
    const { token } = new TokenStore(agent.services.db).add('grafana', 'read-only');
    await agent.api('POST', '/v1/vms', { spec: kernelVm('web1') });
    for (const url of [
      '/v1/vms',
      '/v1/vms/web1',
      '/v1/pools',
      '/v1/pools/default',
      '/v1/jobs',
      '/v1/audit',
    ]) {
      const res = await agent.raw({ method: 'GET', url, headers: as(token) });
      expect(res.status, `${url}: ${res.text}`).toBe(200);
    }
  });

  it.each([
    ['POST', '/v1/vms', { spec: kernelVm('web2') }, '/v1/vms'],
    ['DELETE', '/v1/vms/web1', undefined, '/v1/vms/:name'],
    ['POST', '/v1/vms/web1/start', {}, '/v1/vms/:name/start'],
    ['POST', '/v1/pools/default/volumes', { name: 'x.qcow2', sizeBytes: 1 << 20 }, '/v1/pools/:pool/volumes'],
    ['POST', '/v1/migrations', { vm: 'web1', to: 'b', mode: 'offline', dryRun: true }, '/v1/migrations'],
  ])(
    'is refused %s %s with 403 VMHOP_ERR_AUTH_READ_ONLY naming the token, the route and the fix, and nothing changes',
    async (method, url, body, route) => {
      agent = await TestAgent.start();
      const { token } = new TokenStore(agent.services.db).add('grafana', 'read-only');
      await agent.api('POST', '/v1/vms', { spec: kernelVm('web1') });
      const res = await agent.raw({
        method: method as 'POST',
        url,
        headers: as(token),
        ...(body ? { payload: body } : {}),
      });
      const err = expectApiError(
        res,
        403,
        'VMHOP_ERR_AUTH_READ_ONLY',
        quoted('grafana'),
        new RegExp(`${method} ${route.replace(/[/]/g, '\\/')}`),
        /admin token/,
      );
      expect(err.details).toEqual({ token: 'grafana', method, route });
      expect(await agent.vmNames()).toEqual(['web1']);
      expect(agent.defaultPoolFiles()).toEqual([]);
    },
  );

  it('is not a peer: the agent-to-agent routes refuse it', async () => {
    agent = await TestAgent.start();
    const { token } = new TokenStore(agent.services.db).add('grafana', 'read-only');
    expectApiError(
      await agent.raw({ method: 'GET', url: '/v1/peer/host', headers: as(token) }),
      403,
      'VMHOP_ERR_PEER_ONLY',
    );
  });
});

describe('the request log', () => {
  /** An agent whose pino lines are collected, parsed, in `lines`. */
  async function loggedAgent(): Promise<Record<string, unknown>[]> {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    agent = await TestAgent.start({ logger: pino({ level: 'info' }, sink) });
    return lines;
  }

  it('logs each request once with the name of its token and never the token, /health and /metrics only at debug', async () => {
    const lines = await loggedAgent();
    const { token } = new TokenStore(agent.services.db).add('grafana', 'read-only');
    await agent.raw({ method: 'GET', url: '/v1/pools', headers: as(token) });
    await agent.api('GET', '/v1/vms');
    await agent.raw({ method: 'GET', url: '/v1/vms', headers: as('wrong') });
    await agent.raw({ method: 'GET', url: '/health' }); // polled by monitors: debug, not info
    await agent.raw({ method: 'GET', url: '/metrics', headers: as(token) }); // scraped: debug too
    const requests = lines.filter((l) => l.msg === 'request');
    expect(requests).toEqual([
      expect.objectContaining({ who: 'grafana', method: 'GET', url: '/v1/pools', status: 200 }),
      expect.objectContaining({ who: 'config-token-1', method: 'GET', url: '/v1/vms', status: 200 }),
      expect.objectContaining({ who: '-', url: '/v1/vms', status: 401 }),
    ]);
    expect(requests.every((l) => typeof l.reqId === 'string')).toBe(true);
    const all = JSON.stringify(lines);
    expect(all).not.toContain(token);
    expect(all).not.toContain(TOKEN);
  });
});
