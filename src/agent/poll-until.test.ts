import { describe, expect, it } from 'vitest';
import { pollUntil } from './poll-until.js';

describe('pollUntil', () => {
  it('returns the first value check gives, checking at once and then every interval', async () => {
    let calls = 0;
    const v = await pollUntil(() => (++calls === 3 ? 'ready' : undefined), {
      intervalMs: 5,
      deadlineMs: 1_000,
    });
    expect([v, calls]).toEqual(['ready', 3]);
  });

  it('resolves undefined once the deadline has passed, after a last check', async () => {
    let calls = 0;
    const t0 = Date.now();
    const v = await pollUntil(() => void calls++, { intervalMs: 20, deadlineMs: 50 });
    expect(v).toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it('ends with the error check throws, and with the abort reason', async () => {
    await expect(
      pollUntil(() => Promise.reject(new Error('failed')), { intervalMs: 5, deadlineMs: 100 }),
    ).rejects.toThrow('failed');
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled')), 20);
    await expect(
      pollUntil(() => undefined, { intervalMs: 5, deadlineMs: 10_000, signal: ac.signal }),
    ).rejects.toThrow('cancelled');
  });
});
