// Rolling upgrades (issue 16) on the test bed: host `b` runs the previous vmhop (the commit before
// protocol ranges, which speaks only protocol 2 and requires its peers to report 2), `a` this one.
// A guest that keeps writing moves a → b and back b → a live over the shared pool, and survives
// both (same boot, no oops, heartbeat, memory and disk writes intact), and a volume is copied to
// b. Afterwards b runs this build again, for the test files after this one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostInfo } from '../../src/protocol/host.js';
import type { JobInfo } from '../../src/protocol/migration.js';
import { runAgentBuild } from '../../src/testbed/agent-build.js';
import { waitForGuest } from '../../src/testbed/client.js';
import { snapshotGuest } from '../../src/testbed/integrity.js';
import { buildOfCommit } from './helpers/build-of-commit.js';
import { removeVmEverywhere, vmhop, vmhopOk, vmStates } from './helpers/cli.js';
import { expectIntactOn } from './helpers/intact-on.js';
import { waitFor } from './helpers/wait-for.js';

/** The last commit whose agents speak one protocol version (2): the vmhop a fleet upgrades from. */
const PREVIOUS_VMHOP = '1f205982fd3865fec95b90609e733828f6cd8cd8';
const VM = 'roll1';
const IP = '10.77.0.41';
const VOL = 'roll-data.qcow2';

beforeAll(async () => {
  const build = await buildOfCommit(PREVIOUS_VMHOP);
  console.log(
    `previous vmhop ${PREVIOUS_VMHOP.slice(0, 8)}: ${build.builtMs ? `built in ${build.builtMs} ms` : 'cached'}`,
  );
  await runAgentBuild('b', build.root);
  const vm = await vmhopOk<{ state: string }>([
    '-c',
    'a',
    'create',
    VM,
    '--test-guest',
    '--start',
    '--ip',
    IP,
    '--memory',
    '192',
    '--pool',
    'shared',
    '--disk',
    '128M',
    '--disk-writer',
    '--mem-dirty',
    '16',
  ]);
  expect(vm.state).toBe('running');
  expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
});

afterAll(async () => {
  await removeVmEverywhere(VM, [
    { host: 'a', volume: `shared/${VM}-vda.qcow2` },
    { host: 'a', volume: `default/${VOL}` },
    { host: 'b', volume: `default/${VOL}` },
  ]);
  await runAgentBuild('b');
});

const hostInfo = (h: string) => vmhopOk<HostInfo>(['-c', h, 'host', 'info']);

async function migrate(from: string, to: string): Promise<JobInfo> {
  const r = await vmhop<JobInfo>(['-c', from, 'migrate', VM, '--to', to, '--live'], 300_000);
  expect(r.exitCode, JSON.stringify(r.json)).toBe(0);
  expect(r.json.state).toBe('completed');
  return r.json;
}

/** The VM runs on `host` alone once the source's retirement is done (the job ends before it). */
async function expectRunsOnlyOn(host: string): Promise<void> {
  const other = host === 'a' ? 'b' : 'a';
  const retired = async () => [undefined, 'moved'].includes((await vmStates(VM))[other]);
  await waitFor(retired, 15_000).catch(() => undefined);
  const states = await vmStates(VM);
  expect(states[host]).toBe('running');
  expect([undefined, 'moved']).toContain(states[other]);
}

describe('a fleet half upgraded: b runs the previous vmhop', () => {
  it('b speaks only protocol 2, a speaks 2..3 and still reports 2 for b to compare', async () => {
    const b = await hostInfo('b');
    expect(b.protocolVersion).toBe(2);
    expect(b.protocolVersions).toBeUndefined();
    const a = await hostInfo('a');
    expect(a).toMatchObject({ protocolVersion: 2, protocolVersions: { min: 2, max: 3 } });
  });

  it('moves the running guest live from the upgraded a to b in protocol 2, and it survives', async () => {
    const before = await snapshotGuest(IP);
    const job = await migrate('a', 'b');
    expect(job.preflight?.find((k) => k.name === 'protocol')?.detail).toBe(
      'speaking vmhop protocol 2 with the target: `b` speaks vmhop protocol 2..2, this agent (`a`) 2..3',
    );
    await expectRunsOnlyOn('b');
    await expectIntactOn({ ip: IP, vm: VM }, 'b', before, job.report?.resumedAt);
  });

  it('moves it back live from the previous vmhop on b to a, and it survives', async () => {
    const before = await snapshotGuest(IP);
    const job = await migrate('b', 'a');
    // The previous vmhop's own check: a reports 2, the one version it speaks.
    expect(job.preflight?.find((k) => k.name === 'protocol')).toMatchObject({ ok: true });
    await expectRunsOnlyOn('a');
    await expectIntactOn({ ip: IP, vm: VM }, 'a', before, job.report?.resumedAt);
  });

  it('copies a volume from a to b, the offline copy speaking protocol 2 too', async () => {
    await vmhopOk(['-c', 'a', 'vol-create', 'default', VOL, '16M']);
    const job = await vmhopOk<JobInfo>(['-c', 'a', 'vol-copy', `default/${VOL}`, '--to', 'b'], 120_000);
    expect(job.state).toBe('completed');
    const there = await vmhopOk<{ volumes: { name: string }[] }>(['-c', 'b', 'vol-list', 'default']);
    expect(there.volumes.map((v) => v.name)).toContain(VOL);
  });
});
