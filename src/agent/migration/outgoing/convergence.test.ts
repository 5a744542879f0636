// The convergence judgement on query-migrate samples shaped like QEMU 10's: a guest whose
// working set is larger than what the link sends per pass is judged stuck, a guest that dirties
// less than the link is not, and the duration speaks at 80% of the limit.
import { describe, expect, it } from 'vitest';
import type { MigrationInfo } from '../../../qmp/index.js';
import { ConvergenceJudge } from './convergence.js';

const MiB = 1024 * 1024;

/** One sample at the start of pass `pass`, `atS` seconds in. */
function sample(
  pass: number,
  remainingMiB: number,
  transferredMiB: number,
  dirtyMiBs: number,
): MigrationInfo {
  return {
    status: 'active',
    ram: {
      transferred: transferredMiB * MiB,
      remaining: remainingMiB * MiB,
      total: 256 * MiB,
      duplicate: 0,
      normal: 0,
      'normal-bytes': 0,
      'dirty-pages-rate': (dirtyMiBs * MiB) / 4096,
      mbps: 0,
      'dirty-sync-count': pass,
      'page-size': 4096,
    },
  } as MigrationInfo;
}

function run(passes: [number, number, number, number][], judge = new ConvergenceJudge({ passes: 3 }, 0)) {
  // [pass, atS, remainingMiB, dirtyMiBs]; 4 MiB/s sent.
  let verdict;
  for (const [pass, atS, remaining, dirty] of passes) {
    verdict ??= judge.observe(sample(pass, remaining, atS * 4, dirty), atS * 1000);
  }
  return verdict;
}

describe('ConvergenceJudge', () => {
  it('judges a guest that dirties faster than the link sends stuck after two such passes', () => {
    const v = run(
      [
        [1, 0, 256, 0],
        [2, 12, 16, 8],
        [3, 16, 16, 8],
        [4, 20, 16.5, 8],
      ],
      new ConvergenceJudge({ passes: 4 }, 0),
    );
    expect(v?.reason).toMatch(/faster than the link sends it \(8\.0 MiB\/s dirtied, 4\.0 MiB\/s sent/);
  });

  it('judges a copy whose remaining RAM stays put stuck, whatever the rates say', () => {
    const v = run([
      [1, 0, 256, 0],
      [2, 12, 16, 1],
      [3, 16, 15.5, 1],
      [4, 20, 15, 1],
    ]);
    expect(v?.reason).toMatch(/did not shrink over 3 passes \(16\.0 -> 15\.5 -> 15\.0 MiB at passes 2-4\)/);
  });

  it('lets a shrinking copy go on, even when one short pass showed a low link rate', () => {
    const v = run([
      [1, 0, 256, 0],
      [2, 12, 16, 2],
      [3, 13, 4, 20],
      [4, 13.5, 1, 20],
      [5, 13.6, 0.2, 20],
    ]);
    expect(v).toBeUndefined();
  });

  it('speaks when 80% of the duration is gone', () => {
    const judge = new ConvergenceJudge({ passes: 3, maxDurationMs: 10_000 }, 0);
    expect(judge.observe(sample(1, 200, 10, 0), 7_900)).toBeUndefined();
    expect(judge.observe(sample(1, 190, 12, 0), 8_000)?.reason).toMatch(/8 s of the 10 s/);
  });

  it('ignores samples outside the active pre-copy', () => {
    const judge = new ConvergenceJudge({ passes: 1, maxDurationMs: 1 }, 0);
    expect(judge.observe({ ...sample(3, 16, 100, 8), status: 'postcopy-active' }, 5_000)).toBeUndefined();
  });
});
