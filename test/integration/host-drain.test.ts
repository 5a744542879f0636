// Executing a drain (issue 17 §1) over two agents in one process and the fake QEMU: `a` runs `v1`
// and has `off` stopped with a disk (priority 3, so it goes first); the drain moves both to `b`
// through ordinary migration jobs, one at a time, the live one capped by the link budget, journaled; `a` is in maintenance and refuses
// defines, imports and incoming migrations naming the fix; undrain --return names the VMs to
// bring home; a drain left running by a previous agent process is resumed; cancel leaves the
// queued VMs where they are.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrainStore } from '../../src/agent/db/drain-store.js';
import { drainRunnerOf } from '../../src/agent/fleet/drain-runner.js';
import { buildApp } from '../../src/agent/http/app.js';
import { PROTOCOL_VERSION } from '../../src/protocol/host.js';
import { MigrationOptions } from '../../src/protocol/migration.js';
import { DrainJob, UndrainReply } from '../../src/protocol/drain.js';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import { clusterCerts } from './helpers/peer-tls.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm, testGuest } from './helpers/vm-specs.js';

const guest = testGuest();
let fake: FakeQemu;
const agents: TestAgent[] = [];
let a: TestAgent;
let b: TestAgent;
let certDir: string | undefined;

beforeAll(async () => {
  fake = await buildFakeQemu();
  certDir = await mkdtemp(join(tmpdir(), 'vmhop-drain-ca-'));
  // Certificates of one CA: an offline move's data listener takes only mutual TLS.
  const certs = await clusterCerts(certDir, ['a', 'b']);
  a = await TestAgent.start({ name: 'a', tls: certs.a, qemuBinary: fake.binary });
  agents.push(a);
  b = await TestAgent.start({ name: 'b', tls: certs.b, qemuBinary: fake.binary });
  agents.push(b);
  a.services.attachPeer(new DirectPeerLink('b', b.services));
  b.services.attachPeer(new DirectPeerLink('a', a.services));
  await a.createVolume('off-vda.qcow2', 32 * 1024 * 1024);
  const boot = {
    kind: 'kernel' as const,
    kernel: guest!.kernel,
    initrd: guest!.initrd,
    cmdline: 'console=ttyS0',
  };
  const define = async (spec: ReturnType<typeof kernelVm>) => {
    const res = await a.api('POST', '/v1/vms', { spec });
    expect(res.status, res.text).toBe(201);
  };
  await define(kernelVm('v1', { memoryMiB: 64, machine: 'pc', boot }));
  await define(
    kernelVm('off', {
      memoryMiB: 64,
      priority: 3,
      disks: [{ target: 'vda', pool: 'default', volume: 'off-vda.qcow2' }],
      boot,
    }),
  );
  const started = await a.api('POST', '/v1/vms/v1/start', {});
  expect(started.status, started.text).toBe(200);
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.splice(0).map((t) => t.close()));
  await fake?.remove();
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

const BODY = { to: ['b'], maxPerHost: 1, maxPerLink: 1, insecure: true, linkBudgetMbps: 80 };

async function drainA(): Promise<DrainJob> {
  const res = await a.api('POST', '/v1/host/drain', BODY);
  expect(res.status, res.text).toBe(202);
  return DrainJob.parse(await drainRunnerOf(a.services).wait(res.body.id as string));
}

/**
 * Moves `vm` from b back to a through b's API, as `vmhop host undrain a --return` does; offline
 * (a running VM is stopped first, then started on a): the fake QEMU that took a VM in cannot send
 * it on (its `migrate-continue` fails); the e2e test moves the real guest home live.
 */
async function home(vm: string) {
  if (stateOn(b, vm) === 'running')
    expect((await b.api('POST', `/v1/vms/${vm}/destroy`, {})).status).toBe(200);
  const wasRunning = vm === 'v1';
  const res = await b.api('POST', '/v1/migrations', {
    vm,
    to: 'a',
    mode: 'offline',
    options: { deleteSource: true },
  });
  expect(res.status, res.text).toBe(202);
  const end = await b.services.engine.wait(res.body.job.id as string);
  expect(end.state, JSON.stringify(end.report?.error)).toBe('completed');
  if (wasRunning) expect((await a.api('POST', `/v1/vms/${vm}/start`, {})).status).toBe(200);
}

const entries = (d: DrainJob) => (d.journal ?? []).map((j) => j.entry);
const stateOn = (t: TestAgent, vm: string) => t.services.vmStore.get(vm)?.state;

describe.skipIf(!guest)('vmhop host drain, executed', () => {
  it('moves every VM to b in plan order, one at a time, and reports each move', async () => {
    const d = await drainA();
    expect(d.state).toBe('completed');
    expect(d.vms.map((v) => [v.vm, v.mode, v.state])).toEqual([
      ['off', 'offline', 'moved'],
      ['v1', 'live-shared', 'moved'],
    ]);
    expect(d.vms[1]!.pauseMs).toBeGreaterThanOrEqual(0);
    expect(d.vms.every((v) => v.job && v.seconds !== undefined)).toBe(true);
    expect(d.total).toMatchObject({ vms: 2, moved: 2, failed: 0, cancelled: 0, queued: 0 });
    // The link budget (80 Mbit/s, one move at a time) caps the live move's RAM stream.
    const optionsOf = (i: number) => a.services.jobStore.get(d.vms[i]!.job!).options;
    expect(optionsOf(1).bandwidthMiBs).toBe(9.54);
    expect(optionsOf(0).bandwidthMiBs).toBeUndefined();
    expect(optionsOf(0).deleteSource).toBe(true);
    // One at a time (limits of 1): off ended before v1 started.
    const log = entries(d);
    expect(log.findIndex((e) => e.startsWith('off: moved'))).toBeLessThan(
      log.findIndex((e) => e.startsWith('v1: moving')),
    );
    expect(stateOn(b, 'v1')).toBe('running');
    expect(stateOn(b, 'off')).toBe('shutoff');
    expect((await a.services.hostInfo()).maintenance).toMatchObject({
      reason: expect.stringContaining(d.id),
    });
  });

  it('refuses a define, an import and an incoming migration while drained, naming the host and the fix', async () => {
    const spec = kernelVm('newcomer', { memoryMiB: 64 });
    for (const [path, body] of [
      ['/v1/vms', { spec }],
      ['/v1/vms/import-xml', { xml: '<domain type="kvm"><name>x</name></domain>' }],
    ] as const) {
      const res = await a.api('POST', path, body);
      expect(res.status, res.text).toBe(409);
      expect(res.body.error.code).toBe('VMHOP_ERR_HOST_MAINTENANCE');
      expect(res.body.error.message).toContain('host `a` is in maintenance');
      expect(res.body.error.message).toContain('`vmhop host undrain a`');
    }
    // The peer routes as a peer agent reaches them (authentication off: their own checks).
    const peerApp = await buildApp({
      services: a.services,
      auth: { tokenHashes: [], disabled: true },
      logger: false,
    });
    try {
      const v = { protocolVersion: PROTOCOL_VERSION, source: 'b', options: MigrationOptions.parse({}) };
      const live = await peerApp.inject({
        method: 'POST',
        url: '/v1/peer/migrations',
        payload: {
          ...v,
          jobId: randomUUID(),
          mode: 'live-shared',
          spec,
          settings: { capabilities: [], parameters: {} },
          tls: false,
        },
      });
      expect(live.statusCode, live.body).toBe(409);
      expect(live.json().error.message).toContain('an incoming migration of `newcomer` from `b`');
      const offline = await peerApp.inject({
        method: 'POST',
        url: '/v1/peer/offline',
        payload: { ...v, jobId: randomUUID(), vm: 'newcomer', volumeCopy: false, items: [] },
      });
      expect(offline.statusCode, offline.body).toBe(409);
      expect(offline.json().error.code).toBe('VMHOP_ERR_HOST_MAINTENANCE');
    } finally {
      await peerApp.close();
    }
    expect(stateOn(a, 'newcomer')).toBeUndefined();
  });

  it('undrain --return names the VMs the drain moved away; a takes them home again', async () => {
    const res = await a.api('POST', '/v1/host/undrain', { return: true });
    expect(res.status, res.text).toBe(200);
    const u = UndrainReply.parse(res.body);
    expect(u).toMatchObject({ host: 'a', wasInMaintenance: true, skipped: [] });
    expect(u.returns).toEqual([
      { vm: 'off', from: 'b', mode: 'offline' },
      { vm: 'v1', from: 'b', mode: 'live-shared' },
    ]);
    expect((await a.services.hostInfo()).maintenance).toBeUndefined();
    await home('off');
    await home('v1');
    expect(stateOn(a, 'v1')).toBe('running');
    expect(stateOn(a, 'off')).toBe('shutoff');
    const again = UndrainReply.parse((await a.api('POST', '/v1/host/undrain', { return: true })).body);
    expect(again.returns).toEqual([]);
    expect(again.skipped.map((s) => s.reason)).toEqual(['already on `a`', 'already on `a`']);
  });

  it('resumes a drain a previous agent process left running', async () => {
    // As a process that stopped between "moving" and the migration's start left it.
    const store = new DrainStore(a.services.db);
    const limits = { maxPerHost: 1, maxPerLink: 1, memoryReserveBytes: 0 };
    const base = { to: 'b', priority: 0, state: 'queued' as const };
    store.enterMaintenance('drained (test)', 'left');
    const d = store.create({
      id: '00000000-0000-4000-8000-0000000000aa',
      host: 'a',
      limits,
      insecure: true,
      vms: [
        { ...base, order: 1, vm: 'off', mode: 'offline' },
        { ...base, order: 2, vm: 'v1', mode: 'live-shared' },
      ],
      unplaceable: [],
      plan: {},
    });
    store.updateVm(d.id, { ...d.vms[0]!, state: 'moving', startedAt: new Date().toISOString() }, 'moving');
    await a.restart((s) => s.attachPeer(new DirectPeerLink('b', b.services)));
    b.services.attachPeer(new DirectPeerLink('a', a.services));
    const runner = drainRunnerOf(a.services);
    runner.resumeAll();
    const done = DrainJob.parse(await runner.wait(d.id));
    expect(done.state, JSON.stringify(done.vms)).toBe('completed');
    expect(entries(done)).toEqual(
      expect.arrayContaining([
        'resumed after an agent restart',
        'off: queued again: the agent stopped before its migration started',
      ]),
    );
    expect(stateOn(b, 'v1')).toBe('running');
    expect(
      UndrainReply.parse((await a.api('POST', '/v1/host/undrain', { return: true })).body).returns,
    ).toHaveLength(2);
    await home('off');
    await home('v1');
  });

  it('cancel ends the running move and leaves the queued ones where they are', async () => {
    const res = await a.api('POST', '/v1/host/drain', BODY);
    expect(res.status, res.text).toBe(202);
    const id = res.body.id as string;
    const cancel = await a.api('POST', `/v1/host/drains/${id}/cancel`);
    expect(cancel.status, cancel.text).toBe(200);
    const d = DrainJob.parse(await drainRunnerOf(a.services).wait(id));
    expect(d.state).toBe('cancelled');
    expect(d.vms[1]).toMatchObject({ vm: 'v1', state: 'cancelled' });
    expect(d.vms[1]!.job).toBeUndefined();
    expect(stateOn(a, 'v1')).toBe('running');
    // The first move ended one way or the other, and the VM is where its outcome says.
    const off = d.vms[0]!;
    expect(['moved', 'cancelled', 'failed']).toContain(off.state);
    expect(stateOn(off.state === 'moved' ? b : a, 'off')).toBe('shutoff');
    const again = await a.api('POST', `/v1/host/drains/${id}/cancel`);
    expect(again.status).toBe(409);
  });

  it('keeps a priority set on a VM in its spec, and the plan orders by it', async () => {
    const res = await a.api('POST', '/v1/vms/v1/priority', { priority: 7 });
    expect(res.status, res.text).toBe(200);
    expect(res.body.spec.priority).toBe(7);
    const plan = await a.api('GET', '/v1/host/drain-plan?to=b');
    expect(plan.body.moves[0]).toMatchObject({ vm: 'v1', priority: 7, order: 1 });
    expect((await a.api('POST', '/v1/vms/v1/priority', { priority: 101 })).status).toBe(400);
  });
});
