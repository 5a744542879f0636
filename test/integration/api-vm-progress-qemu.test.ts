// Progress of save, restore and shutdown against real QEMU (TCG, the test guest): the agent's
// `vm.progress` events for one request's progressId, from the first to the last (`ended`), with
// what each counts: RAM written of the guest's RAM, bytes of the state file read, time waited
// of the shutdown timeout. Every QEMU started is killed in afterEach.
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runVmhopWithStderr as vmhopWithStderr } from '../../src/cli/testing/run-vmhop-stderr.js';
import type { VmProgress } from '../../src/protocol/vm-progress.js';
import { expectApiError } from './helpers/api-expect.js';
import { TestAgent, TOKEN } from './helpers/test-agent.js';
import { kernelVm, testGuest } from './helpers/vm-specs.js';

const guest = testGuest();
const MiB = 1024 ** 2;

beforeAll(() => {
  process.env.VMHOP_HOSTS = join(tmpdir(), `vmhop-vm-progress-qemu-${process.pid}-none.json`);
});
afterAll(() => {
  delete process.env.VMHOP_HOSTS;
});

describe.skipIf(!guest)('progress of long VM actions with real QEMU', () => {
  let agent: TestAgent;
  let seen: { progressId?: string; data: VmProgress }[];
  let off: () => void;

  beforeEach(async () => {
    agent = await TestAgent.start();
    await agent.createVolume('root.qcow2', 64 * MiB);
    const spec = kernelVm('g1', {
      memoryMiB: 128,
      machine: 'pc',
      boot: { kind: 'kernel', kernel: guest!.kernel, initrd: guest!.initrd, cmdline: 'console=ttyS0 quiet' },
      disks: [{ target: 'vda', pool: 'default', volume: 'root.qcow2' }],
      nics: [],
    });
    expect((await agent.api('POST', '/v1/vms', { spec })).status).toBe(201);
    seen = [];
    off = agent.services.events.subscribe((e) => {
      if (e.type === 'vm.progress' && e.vm === 'g1')
        seen.push({ ...(e.progressId ? { progressId: e.progressId } : {}), data: e.data });
    });
  });
  afterEach(async () => {
    off();
    const pids = agent.qemuPids();
    await agent.close();
    expect(pids.filter((p) => agent.isOurQemu(p))).toEqual([]);
  });

  const act = (action: string, body: Record<string, unknown> = {}) =>
    agent.api('POST', `/v1/vms/g1/${action}`, body);
  const ofRequest = (id: string) => seen.filter((e) => e.progressId === id).map((e) => e.data);

  /** Checks the shape every action's events share: one last event, counts that never go back. */
  function expectOneRun(events: VmProgress[], operation: VmProgress['operation']): VmProgress {
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.every((p) => p.operation === operation)).toBe(true);
    expect(events.filter((p) => p.ended)).toHaveLength(1);
    expect(events.at(-1)!.ended).toBe(true);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.done).toBeGreaterThanOrEqual(events[i - 1]!.done);
    return events.at(-1)!;
  }

  it('reports a save as RAM written of the guest RAM, and a restore as bytes of the state file read', async () => {
    expect((await act('start')).status).toBe(200);
    const saveId = crypto.randomUUID();
    const saved = await act('save', { progressId: saveId });
    expect(saved.status, saved.text).toBe(200);
    const save = ofRequest(saveId);
    const lastSave = expectOneRun(save, 'save');
    expect(save[0]).toMatchObject({ unit: 'bytes', ended: false });
    expect(save[0]!.done).toBeLessThan(save[0]!.total);
    // QEMU's RAM total: the guest's 128 MiB plus its ROMs and video RAM.
    expect(lastSave.total).toBeGreaterThanOrEqual(128 * MiB);
    expect(lastSave.done).toBe(lastSave.total);
    expect(lastSave.note).toMatch(/g1\.vmstate; the VM stops once it is written/);

    const size = statSync(`${agent.dataDir}/save/g1.vmstate`).size;
    const restoreId = crypto.randomUUID();
    const restored = await act('restore', { progressId: restoreId });
    expect(restored.status, restored.text).toBe(200);
    const lastRestore = expectOneRun(ofRequest(restoreId), 'restore');
    expect(lastRestore).toMatchObject({ unit: 'bytes', done: size, total: size });
    // Events of one request carry its id only; a request without one still publishes, untagged.
    expect(seen.filter((e) => e.progressId && e.progressId !== saveId && e.progressId !== restoreId)).toEqual(
      [],
    );
  });

  it('reports a shutdown as time waited of the timeout; at the timeout the request fails and the VM keeps running', async () => {
    expect((await act('start', { paused: true })).status).toBe(200); // paused vCPUs never see the button
    const id = crypto.randomUUID();
    const res = await act('shutdown', { timeoutMs: 2_500, progressId: id });
    expectApiError(res, 504, 'VMHOP_ERR_TIMEOUT', /did not power off within 3 s.*vmhop destroy g1/);
    const events = ofRequest(id);
    const last = expectOneRun(events, 'shutdown');
    expect(events[0]).toMatchObject({ unit: 'ms', total: 2_500, ended: false });
    expect(last).toMatchObject({ done: 2_500, total: 2_500, etaS: 0 });
    expect(last.note).toMatch(
      /at 3 s the request fails and the VM keeps running \(`vmhop destroy g1` forces it off\)/,
    );
    expect((await agent.api('GET', '/v1/vms/g1')).body.state).toBe('paused');
  });

  it('vmhop save and restore draw their progress from the real agent on stderr, ending at 100%', async () => {
    expect((await act('start')).status).toBe(200);
    const url = await agent.listen();
    for (const [verb, done] of [
      ['save', 'saved'],
      ['restore', 'restored'],
    ] as const) {
      const r = await vmhopWithStderr('-c', url, '--token', TOKEN, verb, 'g1');
      expect(r.exitCode ?? 0, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^VM g1 ${done} \\(state (shutoff|running)\\)\n$`));
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toMatch(new RegExp(`^${verb} {2}\\[[#.]{20}\\] {2}\\d+% `));
      expect(lines.at(-1)).toMatch(new RegExp(`^${verb} {2}\\[#{20}\\] {2}100% `));
    }
  });

  it('ends a shutdown the guest answers before its timeout', async () => {
    expect((await act('start')).status).toBe(200);
    // The guest's power-button thread runs once its daemon prints its heartbeat.
    for (let i = 0; i < 120 && !/tick \d+/.test((await agent.api('GET', '/v1/vms/g1/console')).text); i++)
      await new Promise((r) => setTimeout(r, 250));
    const id = crypto.randomUUID();
    const res = await act('shutdown', { timeoutMs: 60_000, progressId: id });
    expect(res.status, res.text).toBe(200);
    expect(res.body.state).toBe('shutoff');
    const last = expectOneRun(ofRequest(id), 'shutdown');
    expect(last.total).toBe(60_000);
    expect(last.done).toBeLessThan(60_000);
  });
});
