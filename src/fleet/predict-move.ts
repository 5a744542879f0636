// The drain planner's prediction of one move: bytes on the wire, set-up time, time at a given
// rate and the guest's pause, kept behind this one function. The RAM part is the migration
// engine's own model (agent/migration/predict/model.ts, pure): pre-copy played pass by pass from
// RAM, dirty rate and link, as `vmhop migrate --dry-run` predicts it. A plan cannot measure every
// VM first, so what it does not know is assumed and said so: all RAM non-zero, a small dirty rate.
import type { DrainMode } from '../protocol/drain.js';
import type { PredictionInputs, WayPrediction } from '../protocol/prediction.js';
import { predictWays } from '../agent/migration/predict/model.js';

/** A guest's dirty rate when the snapshot carries none: a mostly idle server (bytes/s). */
export const ASSUMED_DIRTY_RATE_BPS = 4 * 1024 * 1024;
/** Share of a link's bit rate a migration stream gets as payload (TCP/IP and TLS framing). */
export const LINK_EFFICIENCY = 0.9;
/** Per move: the target's prepare (QEMU start, volumes, NBD exports), TLS handshakes, finish. */
export const SETUP_SECONDS = 2;
/** QEMU's default downtime limit, which vmhop keeps unless --max-downtime says otherwise. */
export const MAX_DOWNTIME_MS = 300;
/**
 * The pause of a switchover with no RAM left: device state, the target's resume, vmhop's commit.
 * The engine's SWITCHOVER_MS (predict/predict.ts, measured in the test bed), repeated here so the
 * planner does not load the measuring half of the prediction (QMP, sockets).
 */
export const SWITCHOVER_MS = 60;

export interface MoveSize {
  mode: DrainMode;
  memoryBytes: number;
  /** Disk bytes that cross the link (local disks; 0 for disks on shared storage). */
  diskBytes: number;
  /** Measured bytes/s of guest pages made dirty, when known. */
  dirtyRateBps?: number;
}

export interface MovePrediction {
  /** Payload bytes on the wire: RAM with its resent pages, and local disks. */
  bytes: number;
  /** Time that holds a migration slot but no bandwidth: the set-up, and a live move's switchover. */
  setupSeconds: number;
  /** The move alone at `bytesPerSecond` of payload: setupSeconds + bytes / rate. */
  seconds: number;
  pauseMs: number;
  /** How RAM moves and why the figures are what they are (the engine's way and reason). */
  ram?: { way: WayPrediction['way']; converges: boolean; reason: string };
}

/** Payload bytes per second a link of `bitsPerSecond` carries. */
export const payloadRate = (bitsPerSecond: number): number => (bitsPerSecond / 8) * LINK_EFFICIENCY;

export function predictMove(move: MoveSize, bytesPerSecond: number): MovePrediction {
  const diskSeconds = move.diskBytes / bytesPerSecond;
  if (move.mode === 'offline') {
    return {
      bytes: move.diskBytes,
      setupSeconds: SETUP_SECONDS,
      seconds: SETUP_SECONDS + diskSeconds,
      pauseMs: 0,
    };
  }
  const ram = ramWay(move, bytesPerSecond);
  const bytes = Math.round(move.diskBytes + ram.bytes);
  // The engine's total is its bytes over the link plus the switchover's fixed part (the last
  // pass's sending is in its bytes): that part holds the slot without bandwidth, like the set-up.
  // A pre-copy that never converges keeps the link busy until the engine gives up (its horizon).
  const setupSeconds = SETUP_SECONDS + SWITCHOVER_MS / 1000;
  return {
    bytes,
    setupSeconds,
    seconds: setupSeconds + bytes / bytesPerSecond,
    pauseMs: Math.round(ram.pauseMs ?? MAX_DOWNTIME_MS),
    ram: { way: ram.way, converges: ram.converges, reason: ram.reason },
  };
}

/**
 * Plain pre-copy when it converges; else auto-converge (throttled), which a drain would turn on
 * for such a guest; post-copy only over shared storage, where vmhop allows it.
 */
function ramWay(move: MoveSize, bytesPerSecond: number): WayPrediction {
  const inputs: PredictionInputs = {
    ramBytes: move.memoryBytes,
    nonZeroBytes: move.memoryBytes,
    nonZeroSource: 'assumed',
    dirtyRateBps: move.dirtyRateBps ?? ASSUMED_DIRTY_RATE_BPS,
    dirtyRateSource: move.dirtyRateBps === undefined ? 'assumed' : 'measured',
    linkBps: bytesPerSecond,
    linkSource: 'assumed',
    maxDowntimeMs: MAX_DOWNTIME_MS,
    switchoverMs: SWITCHOVER_MS,
    compressionRatio: 1,
  };
  const ways = predictWays(inputs);
  const pick = (name: WayPrediction['way']) => ways.find((w) => w.way === name && w.converges);
  return (
    pick('precopy') ??
    pick('precopy-throttled') ??
    (move.mode === 'live-shared' ? pick('postcopy-after-precopy') : undefined) ??
    ways.find((w) => w.way === 'precopy')!
  );
}

/** The model as the plan states it. */
export const MODEL_TEXT =
  `per move: ${SETUP_SECONDS} s set-up; RAM by the migration engine's model (pre-copy passes, ` +
  `all RAM assumed non-zero, dirty rate ${ASSUMED_DIRTY_RATE_BPS / 1048576} MiB/s unless measured, ` +
  `downtime limit ${MAX_DOWNTIME_MS} ms); local disks copied once; each over its link share at ` +
  `${LINK_EFFICIENCY * 100}% of the bit rate; no pause for a stopped VM`;
