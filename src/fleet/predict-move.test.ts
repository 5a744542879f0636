import { describe, expect, it } from 'vitest';
import { SETUP_SECONDS, SWITCHOVER_MS, payloadRate, predictMove } from './predict-move.js';

const MiB = 1024 * 1024;
// 4096-byte pages cross with an 8-byte header (the engine's model).
const wire = (bytes: number) => bytes * (1 + 8 / 4096);

describe('predictMove', () => {
  it('moves an idle guest in one pass and pauses for the switchover alone', () => {
    const p = predictMove(
      { mode: 'live-shared', memoryBytes: 1000 * MiB, diskBytes: 0, dirtyRateBps: 0 },
      100 * MiB,
    );
    expect(p.bytes).toBe(Math.round(wire(1000 * MiB)));
    expect(p.seconds).toBeCloseTo(SETUP_SECONDS + wire(1000 * MiB) / (100 * MiB) + SWITCHOVER_MS / 1000, 3);
    expect(p.pauseMs).toBe(SWITCHOVER_MS);
    expect(p.ram).toMatchObject({ way: 'precopy', converges: true });
  });

  it('resends what a busy guest dirtied and pauses longer for the last pass', () => {
    const idle = predictMove(
      { mode: 'live-shared', memoryBytes: 1000 * MiB, diskBytes: 0, dirtyRateBps: 0 },
      100 * MiB,
    );
    const busy = predictMove(
      { mode: 'live-shared', memoryBytes: 1000 * MiB, diskBytes: 0, dirtyRateBps: 20 * MiB },
      100 * MiB,
    );
    expect(busy.bytes).toBeGreaterThan(idle.bytes * 1.2);
    expect(busy.seconds).toBeGreaterThan(idle.seconds);
    expect(busy.pauseMs).toBeGreaterThan(SWITCHOVER_MS);
    expect(busy.pauseMs).toBeLessThanOrEqual(300 + SWITCHOVER_MS);
  });

  it('takes auto-converge when plain pre-copy never would, and post-copy only over shared storage', () => {
    const fast = { memoryBytes: 1000 * MiB, diskBytes: 0, dirtyRateBps: 200 * MiB };
    expect(predictMove({ mode: 'live-shared', ...fast }, 100 * MiB).ram?.way).toBe('precopy-throttled');
    expect(predictMove({ mode: 'live-copy', ...fast }, 100 * MiB).ram?.way).toBe('precopy-throttled');
  });

  it('adds the local disks of a live copy', () => {
    const ram = predictMove(
      { mode: 'live-copy', memoryBytes: 100 * MiB, diskBytes: 0, dirtyRateBps: 0 },
      100 * MiB,
    );
    const both = predictMove(
      { mode: 'live-copy', memoryBytes: 100 * MiB, diskBytes: 500 * MiB, dirtyRateBps: 0 },
      100 * MiB,
    );
    expect(both.bytes - ram.bytes).toBe(500 * MiB);
    expect(both.seconds - ram.seconds).toBeCloseTo(5, 6);
  });

  it('sends no RAM and pauses nothing for a stopped VM', () => {
    const p = predictMove({ mode: 'offline', memoryBytes: 1000 * MiB, diskBytes: 300 * MiB }, 100 * MiB);
    expect(p).toEqual({
      bytes: 300 * MiB,
      setupSeconds: SETUP_SECONDS,
      seconds: SETUP_SECONDS + 3,
      pauseMs: 0,
    });
  });

  it('assumes a small dirty rate when the snapshot has none', () => {
    const assumed = predictMove({ mode: 'live-shared', memoryBytes: 1000 * MiB, diskBytes: 0 }, 100 * MiB);
    const idle = predictMove(
      { mode: 'live-shared', memoryBytes: 1000 * MiB, diskBytes: 0, dirtyRateBps: 0 },
      100 * MiB,
    );
    expect(assumed.bytes).toBeGreaterThan(idle.bytes);
  });

  it('takes 90% of the bit rate as payload', () => {
    expect(payloadRate(10e9)).toBe(1.125e9);
  });
});
