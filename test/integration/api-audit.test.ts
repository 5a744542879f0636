// The audit log (issue 12, "who did what"): every request of a route that changes something
// leaves an entry with who (token or peer name), the action, its target and its outcome,
// refused ones included; GET /v1/audit reads them; the registry refuses to rewrite them;
// and the app cannot be built with a changing route that names no audit action.
import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from '../../src/agent/audit/actions.js';
import { AuditStore } from '../../src/agent/db/audit-store.js';
import { TokenStore } from '../../src/agent/db/token-store.js';
import { installAuditAndRequestLog } from '../../src/agent/http/audit-hook.js';
import { AuditEntry } from '../../src/protocol/audit.js';
import { expectApiError } from './helpers/api-expect.js';
import { TestAgent, type Body } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
});
afterEach(async () => {
  await agent.close();
});

const as = (token: string) => ({ authorization: `Bearer ${token}` });

/** The audit log, oldest first, as GET /v1/audit gives it (validated against the protocol). */
async function auditLog(query = ''): Promise<AuditEntry[]> {
  const res = await agent.api('GET', `/v1/audit${query}`);
  expect(res.status, res.text).toBe(200);
  return (res.body.entries as Body[]).map((e) => AuditEntry.strict().parse(e)).reverse();
}

const brief = (e: AuditEntry) => ({ who: e.who, action: e.action, target: e.target, outcome: e.outcome });

describe('audit entries', () => {
  it('records a define, a refused destroy and an undefine with the token name and outcome', async () => {
    const { token } = new TokenStore(agent.services.db).add('alice');
    const def = await agent.raw({
      method: 'POST',
      url: '/v1/vms',
      headers: as(token),
      payload: { spec: kernelVm('web1') },
    });
    expect(def.status).toBe(201);
    expectApiError(await agent.api('POST', '/v1/vms/web1/destroy', {}), 409, 'VMHOP_ERR_VM_STATE');
    expect((await agent.raw({ method: 'DELETE', url: '/v1/vms/web1', headers: as(token) })).status).toBe(200);
    const log = await auditLog();
    expect(log.map(brief)).toEqual([
      { who: 'alice', action: 'vm.define', target: 'vm/web1', outcome: 'ok' },
      { who: 'config-token-1', action: 'vm.destroy', target: 'vm/web1', outcome: 'VMHOP_ERR_VM_STATE' },
      { who: 'alice', action: 'vm.undefine', target: 'vm/web1', outcome: 'ok' },
    ]);
    expect(log[0]).toMatchObject({ whoKind: 'token', status: 201, requestId: def.headers['x-request-id'] });
    expect(log[1]).toMatchObject({ status: 409 });
  });

  it('records a pool define and a volume create, and a read-only token refused with its name', async () => {
    const { token } = new TokenStore(agent.services.db).add('grafana', 'read-only');
    const dir = `${agent.dataDir}/pools/fast`;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    expect((await agent.api('POST', '/v1/pools', { name: 'fast', kind: 'dir', path: dir })).status).toBe(201);
    await agent.createVolume('d.qcow2', 1 << 20);
    const refused = await agent.raw({
      method: 'POST',
      url: '/v1/pools',
      headers: as(token),
      payload: { name: 'sneaky', kind: 'dir', path: dir },
    });
    expectApiError(refused, 403, 'VMHOP_ERR_AUTH_READ_ONLY');
    expect((await auditLog()).map(brief)).toEqual([
      { who: 'config-token-1', action: 'pool.define', target: 'pool/fast', outcome: 'ok' },
      { who: 'config-token-1', action: 'volume.create', target: 'volume/default/d.qcow2', outcome: 'ok' },
      { who: 'grafana', action: 'pool.define', target: 'pool/sneaky', outcome: 'VMHOP_ERR_AUTH_READ_ONLY' },
    ]);
  });

  it('records a refused request body as the action it asked for, with the validation code', async () => {
    expectApiError(
      await agent.api('POST', '/v1/vms', { spec: { name: 'x' } }),
      400,
      'VMHOP_ERR_VM_SPEC_INVALID',
    );
    expect((await auditLog()).map(brief)).toEqual([
      { who: 'config-token-1', action: 'vm.define', target: 'vm/x', outcome: 'VMHOP_ERR_VM_SPEC_INVALID' },
    ]);
  });

  it('calls a dry-run migration migration.dry-run, with its target host', async () => {
    await agent.api('POST', '/v1/vms', { spec: kernelVm('web1') });
    await agent.api('POST', '/v1/migrations', { vm: 'web1', to: 'nowhere', mode: 'offline', dryRun: true });
    const last = (await auditLog()).at(-1) as AuditEntry;
    expect(last).toMatchObject({
      action: 'migration.dry-run',
      target: 'vm/web1',
      details: { to: 'nowhere' },
    });
  });

  it('keeps requests that failed authentication out of the audit log (they are in the request log)', async () => {
    await agent.raw({ method: 'POST', url: '/v1/vms', payload: { spec: kernelVm('web1') } });
    await agent.raw({
      method: 'POST',
      url: '/v1/vms',
      headers: as('wrong'),
      payload: { spec: kernelVm('web1') },
    });
    expect(await auditLog()).toEqual([]);
  });

  it('writes nothing for reads', async () => {
    await agent.api('GET', '/v1/vms');
    await agent.api('GET', '/v1/pools');
    expect(await auditLog()).toEqual([]);
  });

  it('keeps control characters and long names out of the log', async () => {
    await agent.api('POST', '/v1/vms', { spec: kernelVm('x', { name: `evil\u001b[2J${'a'.repeat(500)}` }) });
    const [e] = await auditLog();
    expect(e?.target).toMatch(/^vm\/evil\?\[2Ja+\.\.\.$/);
    expect(e?.target.length).toBeLessThan(220);
  });
});

describe('GET /v1/audit', () => {
  it('gives the newest entries first, at most `limit`, and only those since `since`', async () => {
    for (const n of ['a1', 'a2', 'a3']) await agent.api('POST', '/v1/vms', { spec: kernelVm(n) });
    const res = await agent.api('GET', '/v1/audit?limit=2');
    expect((res.body.entries as Body[]).map((e) => e.target)).toEqual(['vm/a3', 'vm/a2']);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await agent.api('GET', `/v1/audit?since=${encodeURIComponent(future)}`)).body.entries).toEqual(
      [],
    );
    const past = new Date(Date.now() - 60_000).toISOString();
    expect((await auditLog(`?since=${encodeURIComponent(past)}`)).length).toBe(3);
  });

  it('refuses a `since` that is not a date with 400 naming it', async () => {
    expectApiError(await agent.api('GET', '/v1/audit?since=yesterday'), 400, 'VMHOP_ERR_USAGE', /since/);
  });

  it('survives a restart: the entries are in the registry', async () => {
    await agent.api('POST', '/v1/vms', { spec: kernelVm('web1') });
    const again = new AuditStore(agent.services.db).list({ limit: 10 });
    expect(again.map((e) => e.action)).toEqual(['vm.define']);
  });

  it('cannot be rewritten: the registry refuses UPDATE and DELETE on it', async () => {
    await agent.api('POST', '/v1/vms', { spec: kernelVm('web1') });
    const db = agent.services.db;
    expect(() => db.prepare("UPDATE audit SET who = 'nobody'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit').run()).toThrow(/append-only/);
    expect((await auditLog()).map((e) => e.who)).toEqual(['config-token-1']);
  });
});

describe('every route that changes something has an audit action', () => {
  it('names an action for each route of the agent but GET, peer routes included', () => {
    const actions = Object.fromEntries(
      agent.app.routeAudit
        .filter((r) => r.method !== 'GET' && r.method !== 'HEAD')
        .map((r) => [`${r.method} ${r.url}`, String(r.audit)]),
    );
    expect(agent.app.routeAudit.some((r) => r.method === 'GET' && r.url === '/v1/audit')).toBe(true);
    for (const [route, action] of Object.entries(actions)) {
      expect(AUDIT_ACTIONS as readonly string[], `${route} names no audit action`).toContain(action);
    }
    expect(actions).toEqual({
      'POST /v1/vms': 'vm.define',
      'DELETE /v1/vms/:name': 'vm.undefine',
      'POST /v1/vms/:name/start': 'vm.start',
      'POST /v1/vms/:name/shutdown': 'vm.shutdown',
      'POST /v1/vms/:name/destroy': 'vm.destroy',
      'POST /v1/vms/:name/suspend': 'vm.suspend',
      'POST /v1/vms/:name/vnc/ticket': 'vm.console',
      'POST /v1/vms/:name/resume': 'vm.resume',
      'POST /v1/vms/:name/reboot': 'vm.reboot',
      'POST /v1/vms/:name/save': 'vm.save',
      'POST /v1/vms/:name/restore': 'vm.restore',
      'POST /v1/vms/:name/priority': 'vm.set-priority',
      'POST /v1/vms/import-xml': 'vm.import-xml',
      'POST /v1/pools': 'pool.define',
      'DELETE /v1/pools/:pool': 'pool.undefine',
      'POST /v1/pools/:pool/volumes': 'volume.create',
      'DELETE /v1/pools/:pool/volumes/:volume': 'volume.delete',
      'POST /v1/migrations': 'migration.start',
      'POST /v1/jobs/:id/abort': 'migration.abort',
      'POST /v1/volumes/copy': 'volume.copy',
      'POST /v1/jobs/:id/resume': 'migration.resume',
      'POST /v1/vms/:name/job/abort': 'migration.abort',
      'POST /v1/jobs/:id/postcopy': 'migration.postcopy',
      'POST /v1/vms/:name/job/postcopy': 'migration.postcopy',
      'POST /v1/jobs/:id/speed': 'migration.setspeed',
      'POST /v1/vms/:name/job/speed': 'migration.setspeed',
      'POST /v1/jobs/:id/max-downtime': 'migration.setmaxdowntime',
      'POST /v1/vms/:name/job/max-downtime': 'migration.setmaxdowntime',
      'POST /v1/jobs/:id/resolve': 'migration.resolve',
      'POST /v1/peer/probe': 'pool.probe',
      'POST /v1/peer/link-probe': 'migration.link-probe',
      'POST /v1/peer/migrations': 'migration.prepare',
      'POST /v1/peer/migrations/:id/finish': 'migration.finish',
      'POST /v1/peer/migrations/:id/postcopy': 'migration.postcopy',
      'POST /v1/peer/migrations/:id/abort': 'migration.abort',
      'POST /v1/peer/offline': 'migration.prepare',
      'POST /v1/peer/offline/:id/commit': 'migration.commit',
      'POST /v1/peer/offline/:id/pause': 'migration.pause',
      'POST /v1/host/drain': 'host.drain',
      'POST /v1/host/drains/:id/cancel': 'host.drain-cancel',
      'POST /v1/host/undrain': 'host.undrain',
    });
  });

  it('refuses to build an app with a changing route that names none', async () => {
    const fastify = Fastify();
    installAuditAndRequestLog(fastify, new AuditStore(agent.services.db));
    fastify.get('/v1/read', async () => ({}));
    expect(() => fastify.post('/v1/forgot', async () => ({}))).toThrow(
      /POST \/v1\/forgot has no audit action/,
    );
    expect(() =>
      fastify.delete('/v1/typo', { config: { audit: 'vm.nuke' as 'vm.define' } }, async () => ({})),
    ).toThrow(/DELETE \/v1\/typo has no audit action/);
  });
});
