// The migration model (pure): from the measured inputs (protocol/prediction.ts) to, for each way of
// moving RAM, whether it converges, total time, bytes on the wire and the pause. Pre-copy is played
// pass by pass as QEMU runs it: a pass sends what the previous one left dirty, and the switchover
// comes once what is left fits in the downtime limit (QEMU's threshold: bandwidth x downtime-limit).
// Auto-converge follows QEMU's trigger (dirtied > 50% of sent, twice: +20%, then +10% a step, to 99%).
import type { MigrationOptions } from '../../../protocol/migration.js';
import { Way, type PredictionInputs, type WayPrediction } from '../../../protocol/prediction.js';

const PAGE = 4096;
/** A zero page crosses as its 8-byte header and a byte (QEMU's save_zero_page); others add the header. */
const ZERO_PAGE_WIRE_BYTES = 9;
const PAGE_HEADER_BYTES = 8;
/** A pre-copy that has not converged after this many passes or this long is called non-converging. */
export const MAX_PASSES = 300;
export const DEFAULT_HORIZON_S = 600;
/** QEMU's defaults: cpu-throttle-initial 20, -increment 10, max 99; throttle-trigger-threshold 50. */
const THROTTLE = { initial: 0.2, increment: 0.1, max: 0.99, trigger: 0.5 };

export interface ModelOptions {
  /** Give up on a non-converging pre-copy after this long (the job's --timeout, else DEFAULT_HORIZON_S). */
  horizonS?: number;
}

/** Wire bytes of RAM, not counting zero pages: the page headers' share included. */
const wire = (rawBytes: number) => rawBytes * (1 + PAGE_HEADER_BYTES / PAGE);

/** Non-zero RAM / link: no way can move the guest faster. */
export function lowerBoundS(i: PredictionInputs): number {
  return i.linkBps > 0 ? wire(i.nonZeroBytes) / i.linkBps : Infinity;
}

const setupS = (i: PredictionInputs) => (i.setupMs ?? 0) / 1000;

/** What the guest dirties in `seconds` at `rate`: never more than its working set, or its RAM. */
function dirtiedIn(i: PredictionInputs, seconds: number, rate: number): number {
  return Math.min(rate * seconds, i.workingSetBytes ?? i.ramBytes, i.ramBytes);
}

interface Precopy {
  /** Wire bytes per raw byte of a non-zero page (compression: below 1). */
  ratio: number;
  throttle: boolean;
}

/** Pre-copy played pass by pass until the rest fits in the downtime limit, or it clearly never will. */
function precopy(i: PredictionInputs, p: Precopy, way: Way, horizonS: number): WayPrediction {
  const zeroBytes = ((i.ramBytes - i.nonZeroBytes) / PAGE) * ZERO_PAGE_WIRE_BYTES;
  let bytes = zeroBytes;
  let t = setupS(i) + zeroBytes / i.linkBps;
  let pending = i.nonZeroBytes;
  let slowdown = 0;
  let high = 0;
  for (let pass = 1; pass <= MAX_PASSES && t <= horizonS; pass++) {
    const sent = wire(pending) * p.ratio;
    const dt = sent / i.linkBps;
    t += dt;
    bytes += sent;
    const dirtied = dirtiedIn(i, dt, i.dirtyRateBps * (1 - slowdown));
    if (p.throttle && dirtied > THROTTLE.trigger * pending && ++high >= 2) {
      slowdown = slowdown ? Math.min(THROTTLE.max, slowdown + THROTTLE.increment) : THROTTLE.initial;
      high = 0;
    }
    const lastMs = ((wire(dirtied) * p.ratio) / i.linkBps) * 1000;
    if (lastMs <= i.maxDowntimeMs) {
      const pauseMs = lastMs + i.switchoverMs;
      const reason =
        dirtied === 0
          ? 'nothing left dirty after the first pass'
          : `converges after ${pass} pass(es)${slowdown ? `, guest slowed by ${Math.round(slowdown * 100)}%` : ''}`;
      return done(way, t + pauseMs / 1000, bytes + wire(dirtied) * p.ratio, pauseMs, pass, reason);
    }
    // Without a throttle left to raise, a pass no shorter than the last one means it never ends.
    const stuck = dirtied >= pending && (!p.throttle || slowdown >= THROTTLE.max);
    pending = dirtied;
    if (stuck) return never(way, i, p, bytes, t, horizonS, pass);
  }
  return never(way, i, p, bytes, t, horizonS, MAX_PASSES);
}

function done(
  way: Way,
  totalS: number,
  bytes: number,
  pauseMs: number,
  passes: number,
  reason: string,
): WayPrediction {
  return { way, converges: true, totalS, bytes: Math.round(bytes), pauseMs, passes, reason };
}

/** A pre-copy that never converges keeps the link full until the horizon (its --timeout, or a user's abort). */
function never(
  way: Way,
  i: PredictionInputs,
  p: Precopy,
  bytes: number,
  t: number,
  horizonS: number,
  passes: number,
): WayPrediction {
  const left = Math.max(0, horizonS - t) * i.linkBps;
  const mibs = (b: number) => (b / 1048576).toFixed(1);
  const floor = Math.min(i.workingSetBytes ?? i.ramBytes, i.ramBytes);
  return {
    way,
    converges: false,
    totalS: null,
    bytes: Math.round(bytes + left),
    pauseMs: null,
    passes,
    reason: `never converges: the guest dirties ${mibs(i.dirtyRateBps * (p.throttle ? 1 - THROTTLE.max : 1))} MiB/s${i.workingSetBytes ? ` of a ${mibs(floor)} MiB working set` : ''}, the link drains ${mibs(i.linkBps / p.ratio)} MiB/s and the last pass must fit in ${i.maxDowntimeMs} ms`,
  };
}

/** Post-copy after one full pass: the pause is the switchover alone; what was dirtied is pulled after. */
function postcopy(i: PredictionInputs): WayPrediction {
  const zeroBytes = ((i.ramBytes - i.nonZeroBytes) / PAGE) * ZERO_PAGE_WIRE_BYTES;
  const first = (zeroBytes + wire(i.nonZeroBytes)) / i.linkBps;
  const left = dirtiedIn(i, first, i.dirtyRateBps);
  const pauseMs = i.postcopySwitchoverMs ?? i.switchoverMs;
  const totalS = setupS(i) + first + pauseMs / 1000 + wire(left) / i.linkBps;
  const reason = `one pass, then the guest runs on the target and pulls ${(left / 1048576).toFixed(1)} MiB it lacks`;
  return done('postcopy-after-precopy', totalS, zeroBytes + wire(i.nonZeroBytes + left), pauseMs, 1, reason);
}

/** Every way of moving RAM, predicted from the same inputs. */
export function predictWays(i: PredictionInputs, o: ModelOptions = {}): WayPrediction[] {
  const horizonS = o.horizonS ?? DEFAULT_HORIZON_S;
  if (!(i.linkBps > 0)) {
    const reason = 'the link moves nothing: no way can finish';
    return Way.options.map((way) => ({
      way,
      converges: false,
      totalS: null,
      bytes: 0,
      pauseMs: null,
      passes: 0,
      reason,
    }));
  }
  const ratio = Math.min(1, Math.max(0.01, i.compressionRatio));
  return [
    precopy(i, { ratio: 1, throttle: false }, 'precopy', horizonS),
    precopy(i, { ratio, throttle: false }, 'precopy-compressed', horizonS),
    precopy(i, { ratio: 1, throttle: true }, 'precopy-throttled', horizonS),
    postcopy(i),
  ];
}

/**
 * The way a job's options lead to: post-copy after the first pass when asked; else compression or
 * throttling as asked; and post-copy when it is allowed (--postcopy, a policy's 'when stuck') and
 * that pre-copy would never converge, since the engine then switches.
 */
export function configuredWay(o: MigrationOptions, ways: WayPrediction[] = []): Way {
  if (o.postcopy && o.postcopyAfterPrecopy) return 'postcopy-after-precopy';
  const precopy: Way = o.compressed ? 'precopy-compressed' : o.autoConverge ? 'precopy-throttled' : 'precopy';
  const stuck = ways.find((w) => w.way === precopy)?.converges === false;
  return o.postcopy && stuck ? 'postcopy-after-precopy' : precopy;
}
