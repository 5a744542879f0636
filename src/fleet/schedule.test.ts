import { describe, expect, it } from 'vitest';
import { schedule, type ScheduledMove } from './schedule.js';

const rate =
  (r: Record<string, number>, fallback = 100) =>
  (h: string) =>
    r[h] ?? fallback;
const move = (to: string, bytes = 1000, setupSeconds = 0, from = 'src'): ScheduledMove => ({
  from,
  to,
  bytes,
  setupSeconds,
});

describe('schedule', () => {
  it('runs one move in its set-up plus its bytes over the link', () => {
    const s = schedule([move('a', 1000, 2)], { maxPerHost: 2, maxPerLink: 4, linkBytesPerSecond: rate({}) });
    expect(s.slots).toEqual([{ startSeconds: 0, endSeconds: 12 }]);
    expect(s.totalSeconds).toBe(12);
    expect(s.maxConcurrent).toBe(1);
  });

  it('shares the source link equally among the moves transferring on it', () => {
    const s = schedule([move('a'), move('b')], {
      maxPerHost: 2,
      maxPerLink: 4,
      linkBytesPerSecond: rate({}),
    });
    expect(s.slots.map((x) => x.endSeconds)).toEqual([20, 20]);
    expect(s.maxConcurrent).toBe(2);
  });

  it('lets a short move free its share for the others when it ends', () => {
    const s = schedule([move('a', 500), move('b', 1500)], {
      maxPerHost: 2,
      maxPerLink: 4,
      linkBytesPerSecond: rate({}),
    });
    // Both at 50/s until a ends at 10 s (500 bytes), then b alone at 100/s for its last 1000.
    expect(s.slots.map((x) => x.endSeconds)).toEqual([10, 20]);
  });

  it('runs a move at the slower of its two links', () => {
    const s = schedule([move('slow')], {
      maxPerHost: 2,
      maxPerLink: 4,
      linkBytesPerSecond: rate({ slow: 10 }),
    });
    expect(s.slots[0]!.endSeconds).toBe(100);
  });

  it('keeps at most maxPerLink moves on the source link', () => {
    const moves = ['a', 'b', 'c', 'd', 'e'].map((t) => move(t));
    const s = schedule(moves, { maxPerHost: 2, maxPerLink: 2, linkBytesPerSecond: rate({}) });
    expect(s.maxConcurrent).toBe(2);
    expect(s.slots.map((x) => x.startSeconds)).toEqual([0, 0, 20, 20, 40]);
    expect(s.totalSeconds).toBe(50);
  });

  it('keeps at most maxPerHost moves into one target and lets later moves to other targets start', () => {
    const s = schedule([move('a'), move('a'), move('b')], {
      maxPerHost: 1,
      maxPerLink: 4,
      linkBytesPerSecond: rate({}),
    });
    // The second move to `a` waits for the first; the move to `b` starts at once beside it.
    expect(s.slots.map((x) => x.startSeconds)).toEqual([0, 20, 0]);
    expect(s.slots.map((x) => x.endSeconds)).toEqual([20, 30, 20]);
  });

  it('gives no bandwidth to a move still in its set-up', () => {
    const s = schedule([move('a', 1000, 0), move('b', 1000, 5)], {
      maxPerHost: 2,
      maxPerLink: 4,
      linkBytesPerSecond: rate({}),
    });
    // a alone at 100/s for 5 s (500 bytes), then both at 50/s: a ends at 15, b has 500 left at 100/s.
    expect(s.slots.map((x) => x.endSeconds)).toEqual([15, 20]);
  });

  it('schedules nothing for no moves', () => {
    expect(schedule([], { maxPerHost: 1, maxPerLink: 1, linkBytesPerSecond: rate({}) })).toEqual({
      slots: [],
      totalSeconds: 0,
      maxConcurrent: 0,
    });
  });
});
