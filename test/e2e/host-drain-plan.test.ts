// `vmhop host drain a --dry-run` on the test bed (issue 17 §1): real agents and QEMU. Host a runs
// the test guest with its disk on the shared pool, another with a local disk, and has a stopped
// one; the plan sends them to b live over shared storage, live with the disk copied, and offline,
// and nothing moves: the VMs are where they were, in the same state, afterwards.
import { afterAll, describe, expect, it } from 'vitest';
import { DrainPlan } from '../../src/protocol/drain.js';
import { removeVmEverywhere, vmhopOk, vmStates } from './helpers/cli.js';

const VMS = [
  { name: 'drain-nfs', args: ['--pool', 'shared', '--disk', '64M', '--start', '--ip', '10.77.0.41'] },
  { name: 'drain-local', args: ['--disk', '64M', '--start', '--ip', '10.77.0.42'] },
  { name: 'drain-off', args: ['--disk', '64M', '--ip', '10.77.0.43'] },
];

afterAll(async () => {
  for (const v of VMS)
    await removeVmEverywhere(v.name, [
      { host: 'a', volume: `${v.name === 'drain-nfs' ? 'shared' : 'default'}/${v.name}-vda.qcow2` },
    ]);
});

describe('vmhop host drain a --dry-run on the test bed', () => {
  it('plans each VM of a to b by its storage and state, and moves nothing', async () => {
    for (const v of VMS)
      await vmhopOk(['-c', 'a', 'create', v.name, '--test-guest', '--memory', '128', ...v.args]);
    const before = await Promise.all(VMS.map((v) => vmStates(v.name)));
    const plan = DrainPlan.parse(await vmhopOk(['host', 'drain', 'a', '--dry-run', '--link-mbps', '100']));
    const modes = Object.fromEntries(plan.moves.map((m) => [m.vm, [m.to, m.mode]]));
    expect(modes).toMatchObject({
      'drain-nfs': ['b', 'live-shared'],
      'drain-local': ['b', 'live-copy'],
      'drain-off': ['b', 'offline'],
    });
    expect(plan.unplaceable.filter((u) => VMS.some((v) => v.name === u.vm))).toEqual([]);
    expect(plan.targets.map((t) => t.host)).toEqual(['b']);
    expect(plan.total.seconds).toBeGreaterThan(0);
    expect(await Promise.all(VMS.map((v) => vmStates(v.name)))).toEqual(before);
    expect(before.map((s) => s.a)).toEqual(['running', 'running', 'shutoff']);
  });
});
