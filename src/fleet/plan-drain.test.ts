import { describe, expect, it } from 'vitest';
import { DrainPlan } from '../protocol/drain.js';
import { planDrain } from './plan-drain.js';
import { payloadRate, predictMove } from './predict-move.js';
import type { DrainRequest, FleetSnapshot } from './snapshot.js';
import { GBIT, GIB, host, vm } from './testing/fleet-fixtures.js';

const plan = (snapshot: FleetSnapshot, request: Partial<DrainRequest> = {}) =>
  DrainPlan.parse(planDrain(snapshot, { host: 'src', ...request }));
const targetOf = (p: ReturnType<typeof plan>, name: string) => p.moves.find((m) => m.vm === name)?.to;
const shared = (target: string) => ({ target, pool: 'nfs', usedBytes: 10 * GIB, sharedId: 'nfs-1' });
const local = (target: string, usedBytes = 20 * GIB) => ({ target, pool: 'default', usedBytes });

describe('planDrain: modes', () => {
  it('moves a running VM on shared storage live-shared, one on local disk live-copy and a stopped one offline', () => {
    const p = plan({
      hosts: [host('src'), host('b')],
      vms: [
        vm('web', { disks: [shared('vda')] }),
        vm('db', { disks: [shared('vda'), local('vdb')] }),
        vm('old', { state: 'stopped', disks: [local('vda')] }),
      ],
    });
    const modes = Object.fromEntries(p.moves.map((m) => [m.vm, m.mode]));
    expect(modes).toEqual({ web: 'live-shared', db: 'live-copy', old: 'offline' });
    const byVm = Object.fromEntries(p.moves.map((m) => [m.vm, m]));
    expect(byVm.web!.diskBytes).toBe(0);
    expect(byVm.db!.diskBytes).toBe(20 * GIB);
    expect(byVm.old!.bytes).toBe(20 * GIB);
    expect(byVm.old!.predictedPauseMs).toBe(0);
    expect(byVm.web!.predictedPauseMs).toBeGreaterThan(0);
  });

  it('moves a paused VM live', () => {
    const p = plan({ hosts: [host('src'), host('b')], vms: [vm('p', { state: 'paused' })] });
    expect(p.moves[0]!.mode).toBe('live-shared');
  });
});

describe('planDrain: choosing targets', () => {
  it('spreads equal VMs over equal hosts instead of filling the first by name', () => {
    const p = plan({
      hosts: [host('src'), host('a'), host('b'), host('c'), host('d')],
      vms: ['v1', 'v2', 'v3', 'v4'].map((n) => vm(n)),
    });
    expect(new Set(p.moves.map((m) => m.to))).toEqual(new Set(['a', 'b', 'c', 'd']));
    expect(p.targets.map((t) => t.vmsIn)).toEqual([1, 1, 1, 1]);
  });

  it('spreads stopped VMs too, although they take no memory', () => {
    const p = plan({
      hosts: [host('src'), host('a'), host('b')],
      vms: [vm('s1', { state: 'stopped' }), vm('s2', { state: 'stopped' })],
    });
    expect(new Set(p.moves.map((m) => m.to))).toEqual(new Set(['a', 'b']));
  });

  it('prefers the host with the larger share of its memory free', () => {
    const p = plan({
      hosts: [
        host('src'),
        host('busy', { memoryFreeBytes: 10 * GIB }),
        host('idle', { memoryFreeBytes: 60 * GIB }),
      ],
      vms: [vm('v')],
    });
    expect(targetOf(p, 'v')).toBe('idle');
    expect(p.moves[0]!.candidates).toBe(2);
  });

  it('counts the memory the plan already promised a host', () => {
    // Each host has room for one 8 GiB VM beyond the 1 GiB reserve; the third VM fits nowhere.
    const p = plan({
      hosts: [
        host('src'),
        host('a', { memoryFreeBytes: 10 * GIB }),
        host('b', { memoryFreeBytes: 10 * GIB }),
      ],
      vms: ['v1', 'v2', 'v3'].map((n) => vm(n, { memoryBytes: 8 * GIB })),
    });
    expect(p.moves.map((m) => m.to).sort()).toEqual(['a', 'b']);
    expect(p.unplaceable).toEqual([
      expect.objectContaining({
        vm: 'v3',
        refusals: { memory: 2 },
        reason: expect.stringMatching(/8\.0 GiB of RAM/),
      }),
    ]);
    expect(p.targets.map((t) => t.memoryFreeAfterBytes)).toEqual([2 * GIB, 2 * GIB]);
  });

  it('keeps the configured memory reserve free on every target', () => {
    const snapshot = { hosts: [host('src'), host('a', { memoryFreeBytes: 6 * GIB })], vms: [vm('v')] };
    expect(plan(snapshot).moves).toHaveLength(1);
    expect(plan(snapshot, { limits: { memoryReserveBytes: 3 * GIB } }).unplaceable[0]!.refusals).toEqual({
      memory: 1,
    });
  });

  it('counts the local pool space the plan already promised', () => {
    const small = [{ name: 'default', kind: 'dir' as const, freeBytes: 30 * GIB }];
    const p = plan({
      hosts: [host('src'), host('a', { pools: small }), host('b', { pools: small })],
      vms: ['v1', 'v2', 'v3'].map((n) => vm(n, { disks: [local('vda')] })),
    });
    expect(p.moves).toHaveLength(2);
    expect(p.unplaceable[0]!.refusals).toEqual({ 'pool-space': 2 });
    expect(p.unplaceable[0]!.reason).toMatch(/less than 20\.0 GiB free in pool `default`/);
  });

  it('sends a VM on shared storage only to hosts that mount that storage', () => {
    const otherNfs = [{ name: 'nfs', kind: 'shared' as const, freeBytes: GIB, sharedId: 'nfs-2' }];
    const p = plan({
      hosts: [host('src'), host('a', { pools: otherNfs, memoryFreeBytes: 60 * GIB }), host('b')],
      vms: [vm('v', { disks: [shared('vda')] })],
    });
    expect(targetOf(p, 'v')).toBe('b');
  });

  it('needs a pool of the same name for a local disk', () => {
    const p = plan({
      hosts: [host('src'), host('a', { pools: [{ name: 'fast', kind: 'dir', freeBytes: 1e12 }] })],
      vms: [vm('v', { disks: [local('vda')] })],
    });
    expect(p.unplaceable[0]!.reason).toMatch(/1 host have no local pool `default`; define a pool/);
  });

  it('needs the very machine type for a live move but takes an alias for a stopped VM', () => {
    const p = plan({
      hosts: [
        host('src'),
        host('old', { machines: ['pc-i440fx-7.2'], machineAliases: { pc: 'pc-i440fx-7.2' } }),
      ],
      vms: [
        vm('live', { machine: 'pc-i440fx-10.0' }),
        vm('cold', { state: 'stopped', machine: 'pc' }),
        vm('seven', { machine: 'pc-i440fx-7.2' }),
      ],
    });
    expect(p.moves.map((m) => m.vm).sort()).toEqual(['cold', 'seven']);
    expect(p.unplaceable[0]).toMatchObject({ vm: 'live', refusals: { 'machine-type': 1 } });
  });

  it('names the CPU model no target has, and the fix', () => {
    const p = plan({
      hosts: [host('src'), host('a'), host('b', { cpuModels: ['qemu64'] })],
      vms: [vm('v', { cpuModel: 'Icelake-Server' })],
    });
    expect(p.unplaceable).toEqual([
      {
        vm: 'v',
        priority: 0,
        refusals: { 'cpu-model': 2 },
        reason: expect.stringMatching(
          /^no host can take it: 2 hosts lack CPU model `Icelake-Server`; define the VM/,
        ),
      },
    ]);
  });

  it('refuses a host that has a VM of the same name or lacks a bridge', () => {
    const p = plan({
      hosts: [
        host('src'),
        host('a', { vmNames: ['v'] }),
        host('b', { bridges: ['br1'] }),
        host('c', { bridges: ['br0'] }),
      ],
      vms: [vm('v', { bridges: ['br0'] })],
    });
    expect(targetOf(p, 'v')).toBe('c');
    const q = plan({ hosts: [host('src'), host('a', { vmNames: ['v'] })], vms: [vm('v')] });
    expect(q.unplaceable[0]!.refusals).toEqual({ 'name-taken': 1 });
  });

  it('takes only the allowed targets', () => {
    const p = plan(
      {
        hosts: [host('src'), host('a'), host('b', { memoryFreeBytes: 60 * GIB })],
        vms: [vm('v1'), vm('v2')],
      },
      { allowedTargets: ['a'] },
    );
    expect(p.moves.map((m) => m.to)).toEqual(['a', 'a']);
    expect(p.targets.map((t) => t.host)).toEqual(['a']);
  });

  it('refuses an allowed target that is not in the fleet, and the drained host itself', () => {
    const snapshot = { hosts: [host('src'), host('a')], vms: [] };
    expect(() => planDrain(snapshot, { host: 'src', allowedTargets: ['zz'] })).toThrow(
      expect.objectContaining({
        code: 'VMHOP_ERR_HOST_UNKNOWN',
        message: expect.stringMatching(/`zz`.*src, a/),
      }),
    );
    expect(() => planDrain(snapshot, { host: 'src', allowedTargets: ['src'] })).toThrow(
      expect.objectContaining({ code: 'VMHOP_ERR_USAGE' }),
    );
    expect(() => planDrain(snapshot, { host: 'nope' })).toThrow(
      expect.objectContaining({ code: 'VMHOP_ERR_HOST_UNKNOWN' }),
    );
  });

  it('skips hosts in maintenance or unreachable and says why', () => {
    const p = plan({
      hosts: [
        host('src'),
        host('m', { maintenance: true }),
        host('u', { unavailable: 'peer `u` did not answer' }),
      ],
      vms: [vm('v')],
    });
    expect(p.skippedHosts).toEqual([
      { host: 'm', reason: expect.stringMatching(/maintenance/) },
      { host: 'u', reason: 'peer `u` did not answer' },
    ]);
    expect(p.unplaceable[0]!.reason).toMatch(/^no host can take VMs/);
  });
});

describe('planDrain: VMs that cannot move as they are', () => {
  it('lists a migrating and a crashed VM with what to do', () => {
    const p = plan({
      hosts: [host('src'), host('a')],
      vms: [vm('m', { state: 'migrating' }), vm('c', { state: 'crashed' })],
    });
    expect(p.moves).toEqual([]);
    expect(p.unplaceable.map((u) => [u.vm, u.reason])).toEqual([
      ['c', expect.stringMatching(/crashed.*vmhop start/)],
      ['m', expect.stringMatching(/migration of `m` is running/)],
    ]);
  });

  it('refuses a live move from QEMU 7.x under TCG but moves a stopped VM from there', () => {
    const p = plan({
      hosts: [host('src', { qemuVersion: '7.2.0', accel: 'tcg' }), host('a')],
      vms: [vm('up'), vm('down', { state: 'stopped' })],
    });
    expect(p.moves.map((m) => m.vm)).toEqual(['down']);
    expect(p.unplaceable[0]).toMatchObject({
      vm: 'up',
      reason: expect.stringMatching(/QEMU 7\.2\.0 under TCG/),
    });
  });

  it('does not touch the VMs of other hosts', () => {
    const p = plan({ hosts: [host('src'), host('a')], vms: [vm('mine'), vm('theirs', { host: 'a' })] });
    expect(p.moves.map((m) => m.vm)).toEqual(['mine']);
    expect(p.total.vms).toBe(1);
  });
});

describe('planDrain: order and schedule', () => {
  it('starts high priority first, then the smallest moves', () => {
    const p = plan({
      hosts: [host('src'), host('a'), host('b')],
      vms: [
        vm('big', { memoryBytes: 16 * GIB }),
        vm('small', { memoryBytes: 1 * GIB }),
        vm('vip', { memoryBytes: 8 * GIB, priority: 10 }),
        vm('low', { memoryBytes: 1 * GIB, priority: -1 }),
      ],
    });
    expect(p.moves.map((m) => [m.order, m.vm])).toEqual([
      [1, 'vip'],
      [2, 'small'],
      [3, 'big'],
      [4, 'low'],
    ]);
  });

  it('runs no more moves at once than the link and host limits allow', () => {
    const hosts = [host('src'), ...['a', 'b', 'c', 'd', 'e', 'f'].map((n) => host(n))];
    const vms = Array.from({ length: 12 }, (_, i) => vm(`v${i}`, { memoryBytes: 2 * GIB }));
    expect(plan({ hosts, vms }, { limits: { maxPerLink: 3 } }).total.maxConcurrent).toBe(3);
    expect(plan({ hosts, vms }).total.maxConcurrent).toBe(4);
    const one = plan({ hosts: [host('src'), host('a')], vms }, { limits: { maxPerHost: 1 } });
    expect(one.total.maxConcurrent).toBe(1);
    // Serial: each move starts when the one before it ended.
    for (let i = 1; i < one.moves.length; i++)
      expect(one.moves[i]!.startSeconds).toBe(one.moves[i - 1]!.endSeconds);
  });

  it("predicts a lone move with the engine's model over the link: one 8 GiB live move at 10 Gbit/s", () => {
    const p = plan({ hosts: [host('src'), host('a')], vms: [vm('v', { memoryBytes: 8 * GIB })] });
    const alone = predictMove(
      { mode: 'live-shared', memoryBytes: 8 * GIB, diskBytes: 0 },
      payloadRate(10 * GBIT),
    );
    // 8 GiB at 1.125 GB/s is 7.6 s of the first pass; resends, set-up and switchover add to it.
    expect(alone.seconds).toBeGreaterThan(2 + (8 * GIB) / 1.125e9);
    expect(p.moves[0]!.predictedSeconds).toBeCloseTo(alone.seconds, 1);
    expect(p.moves[0]!.predictedPauseMs).toBe(alone.pauseMs);
    expect(p.moves[0]!.ram).toEqual(alone.ram);
    expect(p.total.seconds).toBeCloseTo(alone.seconds, 1);
    expect(p.total.bytes).toBe(alone.bytes);
  });

  it("passes a VM's measured dirty rate to the prediction", () => {
    const snapshot = (dirtyRateBps?: number) => ({
      hosts: [host('src'), host('a', { linkBitsPerSecond: 1 * GBIT })],
      vms: [vm('v', dirtyRateBps === undefined ? {} : { dirtyRateBps })],
    });
    const idle = plan(snapshot(0)).moves[0]!;
    const busy = plan(snapshot(200 * 1024 * 1024)).moves[0]!;
    expect(busy.bytes).toBeGreaterThan(idle.bytes);
    expect(busy.ram?.way).not.toBe('precopy');
  });

  it('caps each link at the bandwidth budget', () => {
    const snapshot = {
      hosts: [host('src'), host('a')],
      vms: [vm('v', { state: 'stopped', disks: [local('vda')] })],
    };
    const full = plan(snapshot).total.seconds;
    const capped = plan(snapshot, { limits: { linkBudgetBitsPerSecond: 1 * GBIT } }).total.seconds;
    expect(capped - 2).toBeCloseTo((full - 2) * 10, 0);
  });

  it('is limited by the slower link of the source and target', () => {
    const p = plan({
      hosts: [host('src'), host('a', { linkBitsPerSecond: 1 * GBIT })],
      vms: [vm('v', { state: 'stopped', disks: [local('vda', 10 * GIB)] })],
    });
    expect(p.moves[0]!.endSeconds).toBeCloseTo(2 + (10 * GIB) / payloadRate(1 * GBIT), 1);
  });

  it('plans nothing for an empty host', () => {
    const p = plan({ hosts: [host('src'), host('a')], vms: [] });
    expect(p.total).toEqual({ vms: 0, moves: 0, unplaceable: 0, bytes: 0, seconds: 0, maxConcurrent: 0 });
  });
});
