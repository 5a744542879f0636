import { describe, expect, it } from 'vitest';
import type { DrainVm } from '../../protocol/drain.js';
import { bandwidthShareMiBs, movesToStart } from './drain-order.js';

const vm = (order: number, to: string, state: DrainVm['state'] = 'queued'): DrainVm => ({
  order,
  vm: `vm${order}`,
  to,
  mode: 'live-shared',
  priority: 0,
  state,
});
const names = (vms: DrainVm[]) => vms.map((v) => v.vm);

describe('movesToStart', () => {
  it('starts moves in plan order, one at a time under limits of 1', () => {
    const vms = [vm(2, 'b'), vm(1, 'b'), vm(3, 'c')];
    expect(names(movesToStart(vms, { maxPerHost: 1, maxPerLink: 1 }))).toEqual(['vm1']);
  });

  it('counts the moves under way against both limits', () => {
    const vms = [vm(1, 'b', 'moving'), vm(2, 'b'), vm(3, 'c'), vm(4, 'c')];
    expect(names(movesToStart(vms, { maxPerHost: 1, maxPerLink: 2 }))).toEqual(['vm3']);
    expect(names(movesToStart(vms, { maxPerHost: 1, maxPerLink: 1 }))).toEqual([]);
  });

  it('lets a later move to a free target start when the next one waits for its target (backfill)', () => {
    const vms = [vm(1, 'b', 'moving'), vm(2, 'b'), vm(3, 'c')];
    expect(names(movesToStart(vms, { maxPerHost: 1, maxPerLink: 4 }))).toEqual(['vm3']);
  });

  it('starts nothing that has ended, and nothing once every VM ended', () => {
    const vms = [vm(1, 'b', 'moved'), vm(2, 'b', 'failed'), vm(3, 'b', 'cancelled')];
    expect(movesToStart(vms, { maxPerHost: 2, maxPerLink: 4 })).toEqual([]);
  });
});

describe('bandwidthShareMiBs', () => {
  it('splits the link budget among the moves that may share the link at once', () => {
    const budget = { linkBudgetBitsPerSecond: 800e6 };
    expect(bandwidthShareMiBs({ ...budget, maxPerLink: 4 }, 10)).toBe(23.84);
    expect(bandwidthShareMiBs({ ...budget, maxPerLink: 4 }, 2)).toBe(47.68);
    expect(bandwidthShareMiBs({ ...budget, maxPerLink: 1 }, 2)).toBe(95.37);
  });

  it('caps nothing without a budget', () => {
    expect(bandwidthShareMiBs({ maxPerLink: 4 }, 3)).toBeUndefined();
  });
});
