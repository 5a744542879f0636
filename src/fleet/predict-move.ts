// The drain planner's prediction of one move: bytes on the wire, set-up time, time at a given
// rate and the guest's pause. One small documented model, kept behind this one function so the
// migration engine's own prediction (dirty rate, link measured, DESIGN.md "Convergence") can
// replace it without touching the planner or the schedule.
import type { DrainMode } from '../protocol/drain.js';

/**
 * Pre-copy sends all RAM once, then what the guest dirtied meanwhile: counted as 10% more
 * without a measured dirty rate (an idle guest resends little, a busy one more).
 */
export const RAM_RESEND_FRACTION = 0.1;
/** Share of a link's bit rate a migration stream gets as payload (TCP/IP and TLS framing). */
export const LINK_EFFICIENCY = 0.9;
/** Per move: the target's prepare (QEMU start, volumes, NBD exports), TLS handshakes, finish. */
export const SETUP_SECONDS = 2;
/** QEMU's default downtime limit (300 ms): a converging live move stops the guest about this long. */
export const LIVE_PAUSE_MS = 300;

export interface MoveSize {
  mode: DrainMode;
  memoryBytes: number;
  /** Disk bytes that cross the link (local disks; 0 for disks on shared storage). */
  diskBytes: number;
}

export interface MovePrediction {
  /** Payload bytes on the wire. */
  bytes: number;
  /** Time that holds a migration slot but no bandwidth. */
  setupSeconds: number;
  /** The move alone at `bytesPerSecond` of payload: setup + bytes / rate. */
  seconds: number;
  pauseMs: number;
}

/** Payload bytes per second a link of `bitsPerSecond` carries. */
export const payloadRate = (bitsPerSecond: number): number => (bitsPerSecond / 8) * LINK_EFFICIENCY;

export function predictMove(move: MoveSize, bytesPerSecond: number): MovePrediction {
  const ram = move.mode === 'offline' ? 0 : move.memoryBytes * (1 + RAM_RESEND_FRACTION);
  const bytes = Math.round(ram + move.diskBytes);
  return {
    bytes,
    setupSeconds: SETUP_SECONDS,
    seconds: SETUP_SECONDS + bytes / bytesPerSecond,
    pauseMs: move.mode === 'offline' ? 0 : LIVE_PAUSE_MS,
  };
}

/** The model as the plan states it. */
export const MODEL_TEXT =
  `per move: ${SETUP_SECONDS} s set-up, then RAM x ${1 + RAM_RESEND_FRACTION} (live; pre-copy resends) ` +
  `plus local disk bytes over the link's share at ${LINK_EFFICIENCY * 100}% of its bit rate; ` +
  `pause ${LIVE_PAUSE_MS} ms (QEMU's downtime limit) live, none for a stopped VM; no dirty rate measured`;
