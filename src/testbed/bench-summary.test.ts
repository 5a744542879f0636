import { describe, expect, it } from 'vitest';
import { atMost, cell, markdownTable, stat, summariseAll, type RunRecord } from './bench-summary.js';

const run = (
  peer: RunRecord['peer'],
  round: number,
  totalS: number,
  more: Record<string, unknown> = {},
): RunRecord => ({
  scenario: 'idle',
  peer,
  round,
  figures: { finished: true, guestIntact: true, totalS, ...more },
});

describe('bench summary', () => {
  it('takes the median and range, the middle pair averaged for an even count', () => {
    expect(stat([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(stat([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
    expect(stat([])).toBeUndefined();
    expect(cell(stat([5.5, 6.25, 5.75]))).toBe('5.75 (5.50-6.25)');
  });

  it('counts a run that did not finish as such and leaves it out of the figures', () => {
    const s = summariseAll([
      run('raw', 0, 5),
      run('raw', 1, 6),
      {
        scenario: 'idle',
        peer: 'vmhop',
        round: 0,
        figures: {
          finished: false,
          guestIntact: null,
          totalS: 120,
          integrity: 'did not finish: cancelled at the 120 s cap',
        },
      },
      run('vmhop', 1, 8, { guestIntact: false }),
      { scenario: 'idle', peer: 'virsh', round: 0, error: 'libvirtd did not come up' },
    ]);
    expect(s.idle?.vmhop).toMatchObject({
      runs: 2,
      finished: 1,
      checked: 1,
      intact: 0,
      unfinished: ['did not finish: cancelled at the 120 s cap'],
    });
    expect(s.idle?.vmhop?.stats.totalS?.median).toBe(8);
    expect(s.idle?.virsh).toMatchObject({ runs: 1, finished: 0, errors: ['libvirtd did not come up'] });
  });

  it('writes one table with a header row per scenario and the vmhop/raw ratio', () => {
    const s = summariseAll([run('raw', 0, 5), run('vmhop', 0, 10), run('virsh', 0, 6)]);
    const md = markdownTable(s, { idle: [{ label: 'total, s', field: 'totalS' }] });
    expect(md).toContain(
      '| **idle** (runs; guest check) | 1/1 finished, guest intact 1/1 | 1/1 finished, guest intact 1/1 | 1/1 finished, guest intact 1/1 | |',
    );
    expect(md).toContain('| total, s | 5.00 | 6.00 | 10.0 | 2.00 |');
  });

  it('says by how much a target is missed', () => {
    expect(atMost('total <= 1.05x bound', 1.66, 1.05)).toEqual({
      target: 'total <= 1.05x bound',
      met: false,
      measured: '1.66 vs 1.05 (58% over)',
    });
    expect(atMost('x', undefined, 1).met).toBeNull();
  });
});
