// The drain store in a real registry file: the maintenance mark and a drain's per-VM outcome and
// journal are still there when the registry is opened again (an agent restart), and a second
// drain keeps the time maintenance began.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DrainVm } from '../../protocol/drain.js';
import { DrainStore } from './drain-store.js';
import { openDb, type Db } from './open.js';

let dir: string;
let db: Db;
let clock: number;
const file = () => join(dir, 'registry.sqlite');
const store = () => new DrainStore(db, () => new Date(clock));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-drains-'));
  db = openDb(file());
  clock = Date.parse('2026-01-01T00:00:00Z');
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const queued = (order: number, vm: string): DrainVm => ({
  order,
  vm,
  to: 'b',
  mode: 'live-shared',
  priority: 0,
  state: 'queued',
});
const limits = { maxPerHost: 1, maxPerLink: 1, memoryReserveBytes: 0 };

describe('DrainStore', () => {
  it('keeps the maintenance mark and a drain with its journal over a reopen of the registry', () => {
    const s = store();
    s.enterMaintenance('kernel update', 'd1');
    s.create({
      id: 'd1',
      host: 'a',
      limits,
      vms: [queued(1, 'web'), queued(2, 'db')],
      unplaceable: [],
      plan: {},
    });
    s.updateVm('d1', { ...queued(1, 'web'), state: 'moving', job: 'j1' }, 'moving to b');
    db.close();
    db = openDb(file());
    const again = store();
    expect(again.maintenance()).toEqual({
      since: '2026-01-01T00:00:00.000Z',
      reason: 'kernel update',
      drainId: 'd1',
    });
    const d = again.running()[0]!;
    expect(d.vms.map((v) => [v.vm, v.state, v.job])).toEqual([
      ['web', 'moving', 'j1'],
      ['db', 'queued', undefined],
    ]);
    expect(again.journalOf('d1').map((j) => j.entry)).toEqual([
      'created: 2 VMs to move off a, 0 that cannot move',
      'web: moving to b',
    ]);
  });

  it('keeps when maintenance began across a second drain, and forgets it on undrain', () => {
    const s = store();
    s.enterMaintenance('first');
    clock += 60_000;
    expect(s.enterMaintenance('second')).toMatchObject({
      since: '2026-01-01T00:00:00.000Z',
      reason: 'second',
    });
    expect(s.leaveMaintenance()).toBe(true);
    expect(s.maintenance()).toBeUndefined();
    expect(s.leaveMaintenance()).toBe(false);
  });

  it('records a cancel request and the end, and no longer lists the drain as running', () => {
    const s = store();
    s.create({ id: 'd2', host: 'a', limits, vms: [queued(1, 'web')], unplaceable: [], plan: {} });
    s.requestCancel('d2', 'by the user');
    expect(s.get('d2').cancelRequested).toBe(true);
    s.end('d2', 'cancelled', '0 moved');
    expect(s.running()).toEqual([]);
    expect(s.latest()?.state).toBe('cancelled');
    expect(() => s.get('nope')).toThrow(/drain `nope` not found/);
  });
});
