import { describe, expect, it } from 'vitest';
import { AgentConfig } from '../agent/config.js';
import { clusterConfig } from './agents.js';
import { hostPlan } from './plan.js';

const all = [hostPlan('a', 0), hostPlan('b', 1), hostPlan('c', 2)];

describe("test-bed agents' cluster settings", () => {
  it('lists every other host as a peer without etcd', () => {
    expect(clusterConfig(all[0]!, all, undefined)).toEqual({
      peers: { b: 'https://10.99.0.12:8443', c: 'https://10.99.0.13:8443' },
    });
  });

  it('points agents at the etcd with a 5 s lease and no peers with etcd', () => {
    const c = clusterConfig(all[1]!, all, { clientUrl: 'http://10.99.0.5:2379', pid: 1 });
    expect(c).toEqual({
      peers: {},
      cluster: { etcd: { endpoints: ['http://10.99.0.5:2379'], leaseTtlSeconds: 5 } },
    });
    // The agent's own schema accepts it (unknown keys would fail its strict objects).
    expect(AgentConfig.shape.cluster.parse(c.cluster)).toMatchObject({
      etcd: { endpoints: ['http://10.99.0.5:2379'], leaseTtlSeconds: 5, prefix: '/vmhop/v1/' },
    });
  });
});
