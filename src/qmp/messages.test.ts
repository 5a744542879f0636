import { describe, expect, it } from 'vitest';
import { timestampMs } from './messages.js';

describe('timestampMs', () => {
  it('turns an event timestamp into Date.now() milliseconds, dropping the sub-millisecond part', () => {
    expect(timestampMs({ seconds: 1_764_700_000, microseconds: 123_999 })).toBe(1_764_700_000_123);
  });
});
