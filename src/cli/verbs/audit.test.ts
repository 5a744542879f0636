// `vmhop audit --since`: a duration back from now or a date, anything else refused by name.
import { describe, expect, it } from 'vitest';
import { sinceToIso } from './audit.js';

const now = Date.parse('2026-12-02T12:00:00.000Z');

describe('sinceToIso', () => {
  it.each([
    ['30s', '2026-12-02T11:59:30.000Z'],
    ['30m', '2026-12-02T11:30:00.000Z'],
    ['2h', '2026-12-02T10:00:00.000Z'],
    ['7d', '2026-11-25T12:00:00.000Z'],
    ['2026-12-01', '2026-12-01T00:00:00.000Z'],
    ['2026-12-01T10:00:00+01:00', '2026-12-01T09:00:00.000Z'],
  ])('reads %s as %s', (since, iso) => {
    expect(sinceToIso(since, now)).toBe(iso);
  });

  it.each(['yesterday', '2h30m', '-1h', '12'])('refuses %j with VMHOP_ERR_USAGE naming it', (since) => {
    expect(() => sinceToIso(since, now)).toThrow(
      expect.objectContaining({ code: 'VMHOP_ERR_USAGE', message: expect.stringContaining(since) }) as Error,
    );
  });
});
