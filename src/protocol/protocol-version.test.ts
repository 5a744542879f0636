import { describe, expect, it } from 'vitest';
import {
  commonVersion,
  MIN_PROTOCOL_VERSION,
  OUR_PROTOCOLS,
  PROTOCOL_VERSION,
  rangeOf,
  refusalOf,
  speaks,
  upgradeAdvice,
} from './protocol-version.js';

describe('protocol versions', () => {
  it('speaks this version and the previous one', () => {
    expect(OUR_PROTOCOLS).toEqual({ min: PROTOCOL_VERSION - 1, max: PROTOCOL_VERSION });
    expect(MIN_PROTOCOL_VERSION).toBe(2);
  });

  it('reads an agent before 3 as speaking only its protocolVersion', () => {
    expect(rangeOf({ protocolVersion: 2 })).toEqual({ min: 2, max: 2 });
    expect(rangeOf({ protocolVersion: 2, protocolVersions: { min: 2, max: 3 } })).toEqual({ min: 2, max: 3 });
  });

  it('picks the newest version both ranges hold', () => {
    expect(commonVersion({ min: 2, max: 3 }, { min: 2, max: 3 })).toBe(3);
    expect(commonVersion({ min: 2, max: 2 }, { min: 2, max: 3 })).toBe(2);
    expect(commonVersion({ min: 3, max: 4 }, { min: 2, max: 3 })).toBe(3);
    expect(commonVersion({ min: 1, max: 1 }, { min: 2, max: 3 })).toBeUndefined();
    expect(commonVersion({ min: 4, max: 5 }, { min: 2, max: 3 })).toBeUndefined();
  });

  it('names the host whose vmhop is too old to share a version', () => {
    const hosts = { peer: 'b', self: 'a' };
    expect(upgradeAdvice(hosts, { min: 1, max: 1 })).toBe('upgrade `b` to a vmhop that speaks 2 or later');
    expect(upgradeAdvice(hosts, { min: 4, max: 5 })).toBe('upgrade `a` to a vmhop that speaks 4 or later');
  });

  it('takes messages of 2 and 3, refuses 1 and 4 naming its range and the fix', () => {
    expect(refusalOf(2)).toBeUndefined();
    expect(refusalOf(3)).toBeUndefined();
    expect(refusalOf(1)).toBe(
      "vmhop protocol 1 is not one this target speaks (2..3): upgrade the source's agent to a vmhop that speaks 2 or later",
    );
    expect(refusalOf(4)).toBe(
      "vmhop protocol 4 is not one this target speaks (2..3): upgrade this target's agent to a vmhop that speaks 4",
    );
  });

  it('says which changes a version has on the wire (3 changed no message)', () => {
    expect(speaks(1, 'offline-sync')).toBe(false);
    expect(speaks(2, 'offline-sync')).toBe(true);
    expect(speaks(3, 'commit-window')).toBe(true);
  });
});
