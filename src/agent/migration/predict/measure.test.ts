import { describe, expect, it } from 'vitest';
import { MigrationOptions } from '../../../protocol/migration.js';
import { workingSetOf } from './dirty-rate.js';
import { ramRanges, regionStarts } from './non-zero-ram.js';
import { linkFigure, predictFrom } from './predict.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('ramRanges', () => {
  it('keeps a small guest below 4 GiB, past the first MiB', () => {
    expect(ramRanges(256 * MiB, 'pc')).toEqual([[MiB, 256 * MiB]]);
  });
  it("splits a large guest at the machine's low-memory boundary and maps the rest from 4 GiB", () => {
    expect(ramRanges(8 * GiB, 'pc-i440fx-10.0')).toEqual([
      [MiB, 3 * GiB],
      [4 * GiB, 9 * GiB],
    ]);
    expect(ramRanges(8 * GiB, 'pc-q35-10.0')).toEqual([
      [MiB, 2 * GiB],
      [4 * GiB, 10 * GiB],
    ]);
  });
});

describe('regionStarts', () => {
  it('spreads page-aligned regions over every range, each inside one', () => {
    const ranges = ramRanges(8 * GiB, 'q35');
    const starts = regionStarts(ranges, 256, 64 * 1024);
    expect(starts).toHaveLength(256);
    expect(starts.every((s) => s % 4096 === 0)).toBe(true);
    expect(starts.every((s) => ranges.some(([a, b]) => s >= a && s + 64 * 1024 <= b))).toBe(true);
    expect(starts.filter((s) => s >= 4 * GiB).length).toBeGreaterThan(150);
  });
});

describe('workingSetOf', () => {
  it('finds a working set when the long window saturates', () => {
    // 24 MiB/s over a 64 MiB set: 4 s would dirty 96 MiB, but only 64 MiB change.
    expect(workingSetOf(24 * MiB, 16 * MiB, { shortS: 1, longS: 4 })).toEqual({
      dirtyRateBps: 24 * MiB,
      longRateBps: 16 * MiB,
      workingSetBytes: 64 * MiB,
    });
  });
  it('leaves it unknown when both windows agree, or nothing is dirtied', () => {
    expect(workingSetOf(16 * MiB, 15 * MiB, { shortS: 1, longS: 4 }).workingSetBytes).toBeUndefined();
    expect(workingSetOf(0, 0, { shortS: 1, longS: 4 }).workingSetBytes).toBeUndefined();
  });
});

describe('linkFigure', () => {
  it('takes the --bandwidth cap when it is below the link', () => {
    expect(linkFigure({ bandwidthMiBs: 5 }, { bps: 12.5e6, source: 'measured' })).toEqual({
      bps: 5 * MiB,
      source: 'bandwidth-cap',
    });
    expect(linkFigure({ bandwidthMiBs: 50 }, { bps: 12.5e6, source: 'measured' })).toEqual({
      bps: 12.5e6,
      source: 'measured',
    });
    expect(linkFigure({ bandwidthMiBs: 50 }, undefined)).toEqual({ bps: 50 * MiB, source: 'bandwidth-cap' });
    expect(linkFigure({}, undefined)).toEqual({ bps: 0, source: 'unknown' });
  });
});

describe('predictFrom', () => {
  it('names the configured way and uses --timeout as the give-up horizon', () => {
    const p = predictFrom(
      {
        ramBytes: 256 * MiB,
        nonZeroBytes: 100 * MiB,
        nonZeroSource: 'sampled',
        dirtyRateBps: 30 * MiB,
        dirtyRateSource: 'measured',
        linkBps: 12.5e6,
        linkSource: 'measured',
        maxDowntimeMs: 300,
        switchoverMs: 60,
        compressionRatio: 0.3,
      },
      MigrationOptions.parse({ autoConverge: true, timeoutS: 60 }),
      { at: 1, measuredMs: 5000 },
    );
    expect(p.configured).toBe('precopy-throttled');
    expect(p.ways.map((w) => w.way)).toEqual([
      'precopy',
      'precopy-compressed',
      'precopy-throttled',
      'postcopy-after-precopy',
    ]);
    expect(p.ways[0]!.bytes).toBeCloseTo(60 * 12.5e6, -6);
    expect(p.lowerBoundS).toBeCloseTo((100 * MiB * (1 + 8 / 4096)) / 12.5e6, 6);
  });
});
