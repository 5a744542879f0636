import { describe, expect, it } from 'vitest';
import { LIVE_PAUSE_MS, SETUP_SECONDS, payloadRate, predictMove } from './predict-move.js';

const MB = 1e6;

describe('predictMove', () => {
  it('counts RAM with its pre-copy resend and local disks for a live copy', () => {
    const p = predictMove({ mode: 'live-copy', memoryBytes: 1000 * MB, diskBytes: 500 * MB }, 100 * MB);
    expect(p.bytes).toBe(1600 * MB);
    expect(p.seconds).toBeCloseTo(SETUP_SECONDS + 16);
    expect(p.pauseMs).toBe(LIVE_PAUSE_MS);
  });

  it('moves only RAM over shared storage', () => {
    expect(predictMove({ mode: 'live-shared', memoryBytes: 1000 * MB, diskBytes: 0 }, 100 * MB).bytes).toBe(
      1100 * MB,
    );
  });

  it('sends no RAM and pauses nothing for a stopped VM', () => {
    const p = predictMove({ mode: 'offline', memoryBytes: 1000 * MB, diskBytes: 300 * MB }, 100 * MB);
    expect(p).toEqual({
      bytes: 300 * MB,
      setupSeconds: SETUP_SECONDS,
      seconds: SETUP_SECONDS + 3,
      pauseMs: 0,
    });
  });

  it('takes 90% of the bit rate as payload', () => {
    expect(payloadRate(10e9)).toBe(1.125e9);
  });
});
