import { describe, expect, it } from 'vitest';
import { etcdChoice, type TestbedState } from './state.js';

const bed = (etcd?: TestbedState['etcd']): TestbedState => ({
  version: 1,
  hosts: ['a', 'b'],
  shaping: {},
  processes: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  ...(etcd ? { etcd } : {}),
});
const withEtcd = bed({ clientUrl: 'http://10.99.0.5:2379', pid: 4242 });

describe('the etcd choice of `up`', () => {
  it('runs no etcd on a fresh bed unless asked', () => {
    expect(etcdChoice(undefined, undefined)).toBe(false);
    expect(etcdChoice(undefined, false)).toBe(false);
    expect(etcdChoice(undefined, true)).toBe(true);
  });

  it("keeps the running bed's choice when `up` does not say", () => {
    expect(etcdChoice(withEtcd, undefined)).toBe(true);
    expect(etcdChoice(bed(), undefined)).toBe(false);
  });

  it('accepts the same choice again', () => {
    expect(etcdChoice(withEtcd, true)).toBe(true);
    expect(etcdChoice(bed(), false)).toBe(false);
  });

  it('refuses adding etcd to a bed that runs without it, naming the fix', () => {
    expect(() => etcdChoice(bed(), true)).toThrow(
      /the test bed is up without etcd, not with: run `vmhop testbed down` first/,
    );
  });

  it('refuses dropping etcd from a bed that runs with it', () => {
    expect(() => etcdChoice(withEtcd, false)).toThrow(
      expect.objectContaining({ code: 'VMHOP_ERR_USAGE', details: { etcd: true } }),
    );
  });
});
