import { describe, expect, it } from 'vitest';
import { etcdArgv, etcdPlan, hostPlan, isValidHostName } from './plan.js';
import { plansFor } from './testbed.js';

describe('test-bed plan', () => {
  it('gives each host its own addresses, namespace and backing folders', () => {
    expect(hostPlan('b', 1)).toEqual({
      name: 'b',
      netns: 'vmhop-b',
      mountNsFile: '/run/vmhop-testbed/mnt-b',
      mgmtAddress: '10.99.0.12',
      migrationAddress: '10.98.0.12',
      ports: { mgmt: 'vh-b-m', migration: 'vh-b-x', guest: 'vh-b-g' },
      backingData: '/var/lib/vmhop-testbed/hosts/b/data',
      backingRun: '/run/vmhop-testbed/hosts/b/run',
    });
  });

  it('keeps interface names within the 15 characters Linux allows', () => {
    const p = hostPlan('abcdefgh', 39);
    for (const port of Object.values(p.ports)) expect(port.length).toBeLessThanOrEqual(15);
  });

  it.each(['', 'A', '1a', 'a-b', 'toolongname', 'client', 'etcd'])('refuses host name %j', (n) => {
    expect(isValidHostName(n)).toBe(false);
  });

  it('refuses duplicate hosts with a message naming the host', () => {
    expect(() => plansFor(['a', 'a'])).toThrow(/host name `a` is not valid/);
  });

  it('puts etcd on the management network at .5, its data and log under the state directory', () => {
    expect(etcdPlan()).toEqual({
      netns: 'vmhop-etcd',
      address: '10.99.0.5',
      port: 'vh-etcd-m',
      clientUrl: 'http://10.99.0.5:2379',
      peerUrl: 'http://10.99.0.5:2380',
      dataDir: '/run/vmhop-testbed/etcd',
      logFile: '/run/vmhop-testbed/etcd.log',
    });
  });

  it('starts etcd as a new single-member cluster on its own address only', () => {
    expect(etcdArgv(etcdPlan())).toEqual([
      '/usr/bin/etcd',
      '--name',
      'vmhop-etcd',
      '--data-dir',
      '/run/vmhop-testbed/etcd',
      '--listen-client-urls',
      'http://10.99.0.5:2379',
      '--advertise-client-urls',
      'http://10.99.0.5:2379',
      '--listen-peer-urls',
      'http://10.99.0.5:2380',
      '--initial-advertise-peer-urls',
      'http://10.99.0.5:2380',
      '--initial-cluster',
      'vmhop-etcd=http://10.99.0.5:2380',
      '--initial-cluster-token',
      'vmhop-testbed',
      '--initial-cluster-state',
      'new',
      '--logger',
      'zap',
      '--log-outputs',
      'stderr',
    ]);
  });

  it("keeps etcd's port among the root-side ends that down removes", () => {
    expect(etcdPlan().port).toMatch(/^vh-[a-z0-9]+-[mxg]$/);
    expect(etcdPlan().port.length).toBeLessThanOrEqual(15);
  });
});
