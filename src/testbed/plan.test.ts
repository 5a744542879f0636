import { describe, expect, it } from 'vitest';
import { hostPlan, isValidHostName } from './plan.js';
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

  it.each(['', 'A', '1a', 'a-b', 'toolongname', 'client'])('refuses host name %j', (n) => {
    expect(isValidHostName(n)).toBe(false);
  });

  it('refuses duplicate hosts with a message naming the host', () => {
    expect(() => plansFor(['a', 'a'])).toThrow(/host name `a` is not valid/);
  });
});
