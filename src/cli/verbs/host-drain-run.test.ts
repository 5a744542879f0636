import { describe, expect, it } from 'vitest';
import type { DrainJob } from '../../protocol/drain.js';
import { humanDrainReport, refuseIncomplete, vmLine } from './host-drain-run.js';

const drain: DrainJob = {
  id: 'd1',
  host: 'a',
  state: 'failed',
  cancelRequested: false,
  limits: { maxPerHost: 1, maxPerLink: 1, memoryReserveBytes: 0 },
  vms: [
    {
      order: 1,
      vm: 'off',
      to: 'b',
      mode: 'offline',
      priority: 3,
      state: 'moved',
      seconds: 1.2,
      bytes: 2 * 1024 ** 2,
    },
    {
      order: 2,
      vm: 'web',
      to: 'b',
      mode: 'live-shared',
      priority: 0,
      state: 'failed',
      seconds: 0.4,
      error: { code: 'VMHOP_ERR_MIGRATION_PREFLIGHT', message: 'pre-flight failed' },
    },
  ],
  unplaceable: [{ vm: 'odd', priority: 0, reason: 'no host can take it', refusals: { 'cpu-model': 1 } }],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:05.000Z',
  total: { vms: 3, moved: 1, failed: 1, cancelled: 0, queued: 0, seconds: 5, bytes: 2 * 1024 ** 2 },
};

describe('the drain as the CLI prints it', () => {
  it('gives each VM one line: order, target, mode, state, figures and the error', () => {
    expect(vmLine(drain.vms[0]!)).toBe('#1 off -> b offline: moved in 1.2s, 2.0 MiB');
    expect(vmLine({ ...drain.vms[1]!, state: 'moving', seconds: undefined, error: undefined })).toBe(
      '#2 web -> b live-shared: moving',
    );
    expect(vmLine(drain.vms[1]!)).toContain(
      'failed in 0.4s (VMHOP_ERR_MIGRATION_PREFLIGHT: pre-flight failed)',
    );
  });

  it('reports the whole, the table and why VMs did not move', () => {
    const text = humanDrainReport(drain);
    expect(text).toMatch(/^drain d1 of a: failed; 1 of 3 VMs moved, 1 failed, 0 cancelled, 1 could not move/);
    expect(text).toMatch(/#\s+VM\s+TO\s+MODE\s+STATE\s+TIME\s+PAUSE\s+BYTES/);
    expect(text).toMatch(/not moved:\nVM\s+WHY\n-+\s+-+\nweb\s+VMHOP_ERR_MIGRATION_PREFLIGHT/);
    expect(text).toMatch(/\nodd\s+no host can take it/);
  });

  it('refuses a drain that left VMs behind, naming them, with the report as details', () => {
    expect(() => refuseIncomplete(drain)).toThrow(/web, odd still on `a`/);
    expect(() => refuseIncomplete({ ...drain, state: 'completed' })).not.toThrow();
  });
});
