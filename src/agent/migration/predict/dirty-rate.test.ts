// The dirty-rate windows over a real QMP session to the fake QMP server: the quick measurement
// a migration takes before it moves is one calc-dirty-rate window; the full one (a dry run, or
// a prediction that would refuse the move) adds the long window that finds the working set.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeQmpHarness } from '../../../qmp/testing/fake-qmp-harness.js';
import { defaultWindows, measureDirtyRate, quickWindows } from './dirty-rate.js';

const MiB = 1024 * 1024;
const h = new FakeQmpHarness();
afterEach(() => h.cleanup());

/** calc-dirty-rate over `seconds`, then query-dirty-rate answering `rateMiBs` as measured. */
const windowOf = (seconds: number, rateMiBs: number) => [
  {
    execute: 'calc-dirty-rate',
    arguments: (a: unknown) => (a as { 'calc-time': number })['calc-time'] === seconds,
  },
  { execute: 'query-dirty-rate', reply: { return: { status: 'measured', 'dirty-rate': rateMiBs } } },
];

describe('measureDirtyRate', () => {
  it('quick: one 1 s window, no working set', async () => {
    const server = await h.server();
    server.expect(...windowOf(quickWindows.shortS, 16));
    const r = await measureDirtyRate(await h.connect(server), quickWindows);
    expect(r).toEqual({ dirtyRateBps: 16 * MiB, longRateBps: 16 * MiB });
    expect(server.received.filter((c) => c.execute === 'calc-dirty-rate')).toHaveLength(1);
    expect(server.failures).toEqual([]);
  });

  it('full: the long window too, which finds a working set when the rate saturates', async () => {
    const server = await h.server();
    server.expect(...windowOf(defaultWindows.shortS, 16), ...windowOf(defaultWindows.longS, 4));
    const r = await measureDirtyRate(await h.connect(server), defaultWindows);
    expect(r.dirtyRateBps).toBe(16 * MiB);
    expect(r.workingSetBytes).toBe(4 * MiB * defaultWindows.longS);
    expect(server.failures).toEqual([]);
  });
});
