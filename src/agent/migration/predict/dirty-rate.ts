// The guest's dirty rate on the source QEMU, measured before a migration with calc-dirty-rate in
// page-sampling mode: the only mode that measures under TCG (dirty-ring needs KVM's ring; on QEMU
// 10.0.2 under TCG dirty-bitmap answers 0 MiB/s for a guest rewriting 16 MiB/s). Page-sampling
// hashes sampled pages at both ends of the window, so a page rewritten twice counts once: over a
// window longer than the working set takes to rewrite, rate x window stops growing at the working
// set. Two windows (short, long) give the rate and, when the long one saturates, the working set.
import { calcDirtyRate, queryDirtyRate, type DirtyRateInfo, type QmpExecutor } from '../../../qmp/index.js';
import { pollUntil } from '../../poll-until.js';

const MiB = 1024 * 1024;
/** QEMU's largest sample (pages per GiB): a 256 MiB guest then samples 1024 pages. */
const SAMPLE_PAGES_PER_GIB = 4096;

export interface DirtyRateWindows {
  shortS: number;
  longS: number;
  signal?: AbortSignal;
}

/**
 * 8 s finds a working set up to 6x the short window's rate (a 32 MiB set rewritten at 6 MiB/s,
 * which 4 s missed in the test bed: the prediction then sent every pass the whole rate's worth).
 */
export const defaultWindows: DirtyRateWindows = { shortS: 1, longS: 8 };

/** The short window alone (no working set: the model caps what a pass dirties at the RAM): 1 s, not 9 s. */
export const quickWindows: DirtyRateWindows = { shortS: 1, longS: 0 };

export interface DirtyRate {
  /** Bytes/s over the short window. */
  dirtyRateBps: number;
  /** Bytes/s over the long window. */
  longRateBps: number;
  /** The guest's working set, when the long window saturated; else unknown (at least long x rate). */
  workingSetBytes?: number;
}

/** One calc-dirty-rate window, polled until measured (bounded by the window plus 3 s). */
export async function dirtyRateOver(
  qmp: QmpExecutor,
  seconds: number,
  signal?: AbortSignal,
): Promise<number> {
  await calcDirtyRate(qmp, {
    'calc-time': seconds,
    'sample-pages': SAMPLE_PAGES_PER_GIB,
    mode: 'page-sampling',
  });
  const info = await pollUntil<DirtyRateInfo>(
    async () => {
      const q = await queryDirtyRate(qmp);
      return q.status === 'measured' ? q : undefined;
    },
    { intervalMs: 100, deadlineMs: seconds * 1000 + 3_000, ...(signal ? { signal } : {}) },
  );
  if (info?.['dirty-rate'] === undefined) {
    throw new Error(`calc-dirty-rate over ${seconds} s gave no figure within ${seconds + 3} s`);
  }
  return info['dirty-rate'] * MiB;
}

/**
 * The short window's rate, and the working set when the long window shows the rate saturating
 * (rate over it below 3/4 of the short one's: the guest rewrote pages it had already dirtied).
 */
export async function measureDirtyRate(
  qmp: QmpExecutor,
  w: DirtyRateWindows = defaultWindows,
): Promise<DirtyRate> {
  const short = await dirtyRateOver(qmp, w.shortS, w.signal);
  if (w.longS <= 0) return { dirtyRateBps: short, longRateBps: short };
  const long = await dirtyRateOver(qmp, w.longS, w.signal);
  return workingSetOf(short, long, w);
}

/** Pure: the two windows' rates to the rate and working set (see measureDirtyRate). */
export function workingSetOf(
  shortBps: number,
  longBps: number,
  w: Pick<DirtyRateWindows, 'shortS' | 'longS'>,
): DirtyRate {
  const saturated = shortBps > 0 && longBps < 0.75 * shortBps;
  return {
    dirtyRateBps: shortBps,
    longRateBps: longBps,
    ...(saturated ? { workingSetBytes: Math.max(longBps * w.longS, shortBps * w.shortS) } : {}),
  };
}
