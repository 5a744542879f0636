import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Progress } from '../../protocol/migration.js';
import type { MigrationInfo, MigrationStats } from '../../qmp/index.js';
import { previousForRate, progressFrom, progressOf, stalledForMs, type Sample } from './progress.js';

const dir = join(import.meta.dirname, '../../../test/fixtures/migration-progress');
const recordings = readdirSync(dir)
  .filter((f) => f.endsWith('.samples.json'))
  .map((f) => f.replace('.samples.json', ''));

/** One progress per line, so a diff points at the sample whose reading changed. */
const lines = (items: unknown[]) => `[\n${items.map((p) => `  ${JSON.stringify(p)}`).join(',\n')}\n]\n`;

describe('progress from recorded QEMU 7.2 migrations (golden files)', () => {
  it.each(recordings)('%s: every sample gives the recorded progress', (name) => {
    const { samples } = JSON.parse(readFileSync(join(dir, `${name}.samples.json`), 'utf8')) as {
      samples: Sample[];
    };
    const progress = samples.map((_, i) =>
      progressOf(samples.slice(0, i + 1), { phase: 'perform', startedAt: 0 }),
    );
    const golden = join(dir, `${name}.expected.json`);
    if (process.env.UPDATE_GOLDEN) writeFileSync(golden, lines(progress));
    expect(progress).toEqual(JSON.parse(readFileSync(golden, 'utf8')));
  });
});

const MiB = 1024 * 1024;

function ram(patch: Partial<MigrationStats>): MigrationStats {
  return {
    transferred: 0,
    remaining: 64 * MiB,
    total: 128 * MiB,
    duplicate: 0,
    skipped: 0,
    normal: 0,
    'normal-bytes': 0,
    'dirty-pages-rate': 0,
    mbps: 67.108864,
    'dirty-sync-count': 1,
    'postcopy-requests': 0,
    'page-size': 4096,
    'multifd-bytes': 0,
    'pages-per-second': 0,
    'precopy-bytes': 0,
    'downtime-bytes': 0,
    'postcopy-bytes': 0,
    'dirty-sync-missed-zero-copy': 0,
    ...patch,
  };
}

const at = (ms: number, info: MigrationInfo): Sample => ({ at: ms, info });
const active = (ms: number, patch: Partial<MigrationStats>, extra: Partial<MigrationInfo> = {}) =>
  at(ms, { status: 'active', ram: ram(patch), ...extra });
const ctx = { phase: 'perform', startedAt: 0 } as const;
const reason = (p: Progress) => [p.etaS, p.etaReason];

describe('progressFrom', () => {
  it("takes QEMU's mbps (megabits/s) as the rate of the first sample", () => {
    const p = progressFrom(undefined, active(100, { transferred: MiB }), ctx);
    expect(p.rateBps).toBe(8388608);
    expect(reason(p)).toEqual([8, 'first pass: copying all RAM at 8.0 MiB/s']);
  });

  it('measures the rate between samples and the dirty rate in pages/s times the page size', () => {
    const p = progressFrom(
      active(0, { transferred: 0, 'dirty-sync-count': 3 }),
      active(1000, {
        transferred: 8 * MiB,
        remaining: 12 * MiB,
        'dirty-sync-count': 3,
        'dirty-pages-rate': 512,
      }),
      ctx,
    );
    expect([p.rateBps, p.dirtyRateBps, p.pass]).toEqual([8 * MiB, 2 * MiB, 3]);
    expect(reason(p)).toEqual([2, 'pass 3: dirtied at 2.0 MiB/s, sent at 8.0 MiB/s']);
  });

  it('says a migration does not converge and suggests only what is not on yet', () => {
    const prev = active(0, { transferred: 0, 'dirty-sync-count': 4 });
    const cur = active(1000, { transferred: 8 * MiB, 'dirty-sync-count': 4, 'dirty-pages-rate': 2000 });
    expect(reason(progressFrom(prev, cur, ctx))).toEqual([
      null,
      'not converging: the guest dirties 7.8 MiB/s, the link moves 8.0 MiB/s (try --auto-converge, --postcopy or a higher --bandwidth)',
    ]);
    const withBoth = { ...ctx, options: { autoConverge: true, postcopy: true } };
    expect(progressFrom(prev, cur, withBoth).etaReason).toMatch(/\(try a higher --bandwidth\)$/);
    const throttled = { ...cur, info: { ...cur.info, 'cpu-throttle-percentage': 60 } };
    expect(progressFrom(prev, throttled, ctx).etaReason).toBe(
      'not converging: the guest dirties 7.8 MiB/s (throttled 60%), the link moves 8.0 MiB/s (try --postcopy or a higher --bandwidth)',
    );
  });

  it('reports a stall with its length, from the context or else from the interval', () => {
    const prev = active(0, { transferred: 5 * MiB });
    const cur = active(2500, { transferred: 5 * MiB });
    expect(reason(progressFrom(prev, cur, ctx))).toEqual([null, 'stalled: no bytes moved for 2.5 s']);
    expect(progressFrom(prev, cur, { ...ctx, stalledMs: 31_400 }).etaReason).toBe(
      'stalled: no bytes moved for 31 s',
    );
  });

  it('keeps the last counters when a cancelled reply has none, and says 0 s once completed', () => {
    const prev = active(0, { transferred: 5 * MiB });
    const p = progressFrom(prev, at(250, { status: 'cancelled' }), ctx);
    expect([p.ramTransferredBytes, p.rateBps, p.etaS, p.etaReason]).toEqual([5 * MiB, 0, null, 'cancelled']);
    const done = progressFrom(
      prev,
      at(250, { status: 'completed', ram: ram({ transferred: 6 * MiB, remaining: 0 }) }),
      ctx,
    );
    expect([done.etaS, done.etaReason, done.stage]).toEqual([0, 'completed', 'finishing']);
  });

  it("keeps the engine's stage and disks and counts elapsed time from the job's start", () => {
    const disks = [{ target: 'vda', doneBytes: 1, totalBytes: 2 }];
    const p = progressFrom(undefined, at(5000, {}), {
      phase: 'perform',
      stage: 'disks',
      startedAt: 1000,
      disks,
    });
    expect([p.stage, p.disks, p.elapsedMs, p.etaReason]).toEqual([
      'disks',
      disks,
      4000,
      'setting up: connecting to the target',
    ]);
  });

  it("leaves out QEMU's expected downtime during the first pass, where it only echoes downtime-limit", () => {
    expect(
      progressFrom(undefined, active(0, {}, { 'expected-downtime': 300 }), ctx).expectedDowntimeMs,
    ).toBeUndefined();
    const later = active(0, { 'dirty-sync-count': 2 }, { 'expected-downtime': 2187 });
    expect(progressFrom(undefined, later, ctx).expectedDowntimeMs).toBe(2187);
  });
});

describe('stalledForMs', () => {
  it('counts from the first sample that showed the current byte count', () => {
    const samples = [
      active(0, { transferred: 1 }),
      active(250, { transferred: 2 }),
      active(500, { transferred: 2 }),
      active(750, { transferred: 2 }),
    ];
    expect(stalledForMs(samples)).toBe(500);
    expect(stalledForMs(samples.slice(0, 2))).toBe(0);
  });

  it('does not count a wait at pre-switchover, and counts a QEMU stuck in setup', () => {
    const paused = at(1000, { status: 'pre-switchover', ram: ram({ transferred: 2 }) });
    expect(stalledForMs([active(0, { transferred: 2 }), paused])).toBe(0);
    expect(stalledForMs([at(0, { status: 'setup' }), at(4000, { status: 'setup' })])).toBe(4000);
    expect(stalledForMs([])).toBe(0);
  });
});

describe('previousForRate', () => {
  it('picks the newest sample at least the window older than the last, else the oldest', () => {
    const samples = [0, 250, 500, 750, 1000, 1250].map((ms) => active(ms, {}));
    expect(previousForRate(samples)?.at).toBe(250);
    expect(previousForRate(samples.slice(0, 3))?.at).toBe(0);
    expect(previousForRate(samples.slice(0, 1))).toBeUndefined();
  });
});
