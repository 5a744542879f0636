// What a peer sends about the RAM gate and the commit's timing is checked like any other input.
import { describe, expect, it } from 'vitest';
import { FinishReply, PrepareRequest } from './peer-link.js';

describe('peer messages added for the RAM gate and the downtime', () => {
  const addresses = (sourceAddresses: unknown) =>
    PrepareRequest.shape.sourceAddresses.safeParse(sourceAddresses).success;

  it('takes the source’s addresses only as at most 8 IP addresses', () => {
    expect(addresses(['10.98.0.11', 'fd00::2'])).toBe(true);
    expect(addresses(undefined)).toBe(true);
    for (const bad of [
      ['a.example'],
      ['../etc'],
      ['10.98.0.11:4000'],
      ['0.0.0.0/0'],
      Array(9).fill('10.0.0.1'),
    ])
      expect(addresses(bad), JSON.stringify(bad)).toBe(false);
  });

  it('takes the commit window only as whole milliseconds from 1 s to 1 h', () => {
    const window = (v: unknown) => PrepareRequest.shape.commitWindowMs.safeParse(v).success;
    for (const ok of [undefined, 1_000, 60_000, 3_600_000]) expect(window(ok), String(ok)).toBe(true);
    for (const bad of [0, 999, 3_600_001, 1.5e3 + 0.5, -60_000, '60000', null])
      expect(window(bad), String(bad)).toBe(false);
  });

  it('takes the finish timing only as bounded non-negative numbers', () => {
    expect(FinishReply.safeParse({ resumedAfterMs: 12, handledMs: 30 }).success).toBe(true);
    for (const bad of [{ resumedAfterMs: -1 }, { handledMs: 1e12 }, { resumeError: 'x'.repeat(2_001) }])
      expect(FinishReply.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });
});
