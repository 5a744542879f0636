import { describe, expect, it } from 'vitest';
import { chooseProtocol } from './preflight-protocol.js';

const hosts = { self: 'a', peer: 'b' };

describe('the pre-flight protocol check', () => {
  it('speaks 3 with an agent of the same vmhop', () => {
    expect(chooseProtocol(hosts, { protocolVersion: 2, protocolVersions: { min: 2, max: 3 } })).toEqual({
      version: 3,
      detail:
        'speaking vmhop protocol 3 with the target: `b` speaks vmhop protocol 2..3, this agent (`a`) 2..3',
    });
  });

  it('speaks 2 with an agent of the previous vmhop, which reports one version', () => {
    expect(chooseProtocol(hosts, { protocolVersion: 2 }).version).toBe(2);
  });

  it('speaks 3 with an agent of the next vmhop (3..4)', () => {
    expect(chooseProtocol(hosts, { protocolVersion: 3, protocolVersions: { min: 3, max: 4 } }).version).toBe(
      3,
    );
  });

  it('names both ranges and the host to upgrade when there is no version in common', () => {
    expect(chooseProtocol(hosts, { protocolVersion: 1 })).toEqual({
      detail: 'target `b` speaks vmhop protocol 1..1, this agent (`a`) 2..3',
      fix: 'upgrade `b` to a vmhop that speaks 2 or later',
    });
    expect(chooseProtocol(hosts, { protocolVersion: 4, protocolVersions: { min: 4, max: 5 } })).toEqual({
      detail: 'target `b` speaks vmhop protocol 4..5, this agent (`a`) 2..3',
      fix: 'upgrade `a` to a vmhop that speaks 4 or later',
    });
  });
});
