import { describe, expect, it } from 'vitest';
import { cutCommands, restoreCommand } from './etcd-cut.js';

describe('cutting a host off etcd', () => {
  it('sends packets to etcd into a blackhole class and everything else through an unshaped one', () => {
    expect(cutCommands('mgmt0', 'dst', '10.99.0.5')).toEqual([
      ['qdisc', 'replace', 'dev', 'mgmt0', 'root', 'handle', '1:', 'htb', 'default', '1'],
      [
        'class',
        'replace',
        'dev',
        'mgmt0',
        'parent',
        '1:',
        'classid',
        '1:1',
        'htb',
        'rate',
        '100gbit',
        'quantum',
        '60000',
      ],
      [
        'class',
        'replace',
        'dev',
        'mgmt0',
        'parent',
        '1:',
        'classid',
        '1:2',
        'htb',
        'rate',
        '8bit',
        'quantum',
        '1514',
      ],
      ['qdisc', 'replace', 'dev', 'mgmt0', 'parent', '1:2', 'handle', '20:', 'blackhole'],
      [
        'filter',
        'add',
        'dev',
        'mgmt0',
        'parent',
        '1:',
        'pref',
        '49',
        'protocol',
        'ip',
        'u32',
        'match',
        'ip',
        'dst',
        '10.99.0.5/32',
        'flowid',
        '1:2',
      ],
    ]);
  });

  it("matches etcd's own packets by source on the bridge port towards the host", () => {
    const filter = cutCommands('vh-a-m', 'src', '10.99.0.5').at(-1);
    expect(filter).toContain('vh-a-m');
    expect(filter?.slice(-4)).toEqual(['src', '10.99.0.5/32', 'flowid', '1:2']);
  });

  it('restores by removing the root qdisc, which takes the filter and blackhole with it', () => {
    expect(restoreCommand('mgmt0')).toEqual(['qdisc', 'del', 'dev', 'mgmt0', 'root']);
  });
});
