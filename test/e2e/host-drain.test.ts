// `vmhop host drain a` executed on the test bed (issue 17 §1), real agents and QEMU: host a runs
// the test guest on the shared pool and has a stopped VM with a local disk; the drain moves the
// guest live (its RAM stream capped by the link budget) and the stopped VM offline to b, one at
// a time; the guest survives (same boot, no oops, heartbeat); a, in maintenance, refuses a create
// and an incoming migration, naming the undrain; `vmhop host undrain a --return` brings both home
// and a takes VMs again. Then the guest, set to a higher priority, moves first, and a cancel ends
// its move and leaves the stopped VM on a. After each step both hosts are checked: where each VM
// is defined and runs, where its disk is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForGuest } from '../../src/testbed/client.js';
import { snapshotGuest } from '../../src/testbed/integrity.js';
import { DrainJob } from '../../src/protocol/drain.js';
import type { HostInfo } from '../../src/protocol/host.js';
import type { JobInfo } from '../../src/protocol/migration.js';
import type { VolumeInfo } from '../../src/protocol/storage.js';
import { removeVmEverywhere, vmhop, vmhopOk, vmStates } from './helpers/cli.js';
import { expectIntactOn } from './helpers/intact-on.js';
import { expectRunsOnlyOn } from './helpers/runs-only-on.js';
import { waitFor } from './helpers/wait-for.js';

const LIVE = 'drainx-live';
const OFF = 'drainx-off';
const NEW = 'drainx-new';
const IP = '10.77.0.46';
const OFF_DISK = `${OFF}-vda.qcow2`;

beforeAll(async () => {
  await vmhopOk([
    '-c',
    'a',
    'create',
    LIVE,
    '--test-guest',
    '--memory',
    '128',
    '--pool',
    'shared',
    '--disk',
    '64M',
    '--start',
    '--ip',
    IP,
  ]);
  await vmhopOk([
    '-c',
    'a',
    'create',
    OFF,
    '--test-guest',
    '--memory',
    '64',
    '--disk',
    '32M',
    '--ip',
    '10.77.0.47',
  ]);
  expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
});

afterAll(async () => {
  // Whatever happened: a out of maintenance, nothing of the test left on either host.
  await vmhop(['host', 'undrain', 'a']);
  await removeVmEverywhere(NEW);
  await removeVmEverywhere(LIVE, [{ host: 'a', volume: `shared/${LIVE}-vda.qcow2` }]);
  await removeVmEverywhere(OFF, [
    { host: 'a', volume: `default/${OFF_DISK}` },
    { host: 'b', volume: `default/${OFF_DISK}` },
  ]);
});

const volumesOn = async (host: string) =>
  (await vmhopOk<{ volumes: VolumeInfo[] }>(['-c', host, 'vol-list', 'default'])).volumes.map((v) => v.name);

/** The stopped VM is defined (shut off) on `host` only, its disk there and gone from the other. */
async function expectStoppedOnlyOn(host: 'a' | 'b') {
  const other = host === 'a' ? 'b' : 'a';
  const retired = async () => [undefined, 'moved'].includes((await vmStates(OFF))[other]);
  await waitFor(retired, 15_000).catch(() => undefined);
  const s = await vmStates(OFF);
  expect(s[host]).toBe('shutoff');
  expect(s[other] === undefined || s[other] === 'moved').toBe(true);
  expect(await volumesOn(host)).toContain(OFF_DISK);
  expect(await volumesOn(other)).not.toContain(OFF_DISK);
}

describe('vmhop host drain a, executed on the test bed', () => {
  it('moves the running guest live and the stopped VM offline to b; the guest is intact', async () => {
    const before = await snapshotGuest(IP);
    const t0 = Date.now();
    const d = DrainJob.parse(
      await vmhopOk(
        [
          'host',
          'drain',
          'a',
          '--to',
          'b',
          '--max-per-host',
          '1',
          '--max-per-link',
          '1',
          '--link-budget-mbps',
          '800',
        ],
        180_000,
      ),
    );
    console.log(
      `drain of a: ${d.total.seconds} s, ${d.total.bytes} bytes; ` +
        d.vms.map((v) => `${v.vm} ${v.mode} ${v.seconds} s pause ${v.pauseMs ?? '-'} ms`).join('; ') +
        ` (CLI ${Date.now() - t0} ms)`,
    );
    expect(d.state).toBe('completed');
    const ours = d.vms.filter((v) => v.vm === LIVE || v.vm === OFF);
    expect(Object.fromEntries(ours.map((v) => [v.vm, [v.to, v.mode, v.state]]))).toEqual({
      [LIVE]: ['b', 'live-shared', 'moved'],
      [OFF]: ['b', 'offline', 'moved'],
    });
    const live = d.vms.find((v) => v.vm === LIVE)!;
    expect(live.pauseMs).toBeGreaterThan(0);
    // The link budget, one move at a time: the live move's RAM stream capped at 800 Mbit/s.
    const { jobs } = await vmhopOk<{ jobs: JobInfo[] }>(['-c', 'a', 'job', 'list']);
    expect(jobs.find((j) => j.id === live.job)?.report?.options.bandwidthMiBs).toBe(95.37);
    await expectRunsOnlyOn(LIVE, 'b');
    await expectStoppedOnlyOn('b');
    await expectIntactOn({ ip: IP, vm: LIVE }, 'b', before);
    const info = await vmhopOk<HostInfo>(['-c', 'a', 'host', 'info']);
    expect(info.maintenance?.reason).toContain(d.id);
  });

  it('a refuses a create and an incoming migration while drained, naming the undrain', async () => {
    const create = await vmhop<{ error: { code: string; message: string } }>([
      '-c',
      'a',
      'create',
      NEW,
      '--test-guest',
      '--memory',
      '64',
      '--ip',
      '10.77.0.48',
    ]);
    expect(create.exitCode).toBe(4);
    expect(create.json.error.code).toBe('VMHOP_ERR_HOST_MAINTENANCE');
    expect(create.json.error.message).toContain('`vmhop host undrain a`');
    const incoming = await vmhop(['-c', 'b', 'migrate', LIVE, '--to', 'a', '--live'], 120_000);
    expect(incoming.exitCode).not.toBe(0);
    expect(JSON.stringify(incoming.json)).toMatch(/maintenance/i);
    expect((await vmStates(NEW)).a).toBeUndefined();
    await expectRunsOnlyOn(LIVE, 'b');
  });

  it('undrain --return brings both home, the guest intact, and a takes new VMs again', async () => {
    const before = await snapshotGuest(IP);
    const u = await vmhopOk<{ returned: { vm: string; state: string; mode: string }[] }>(
      ['host', 'undrain', 'a', '--return'],
      180_000,
    );
    const ours = u.returned.filter((r) => r.vm === LIVE || r.vm === OFF);
    expect(Object.fromEntries(ours.map((r) => [r.vm, [r.mode, r.state]]))).toEqual({
      [LIVE]: ['live-shared', 'completed'],
      [OFF]: ['offline', 'completed'],
    });
    await expectRunsOnlyOn(LIVE, 'a');
    await expectStoppedOnlyOn('a');
    await expectIntactOn({ ip: IP, vm: LIVE }, 'a', before);
    expect((await vmhopOk<HostInfo>(['-c', 'a', 'host', 'info'])).maintenance).toBeUndefined();
    await vmhopOk(['-c', 'a', 'create', NEW, '--test-guest', '--memory', '64', '--ip', '10.77.0.48']);
    expect((await vmStates(NEW)).a).toBe('shutoff');
  });

  it('a VM set to a higher priority moves first; cancel ends its move and leaves the queued VM on a', async () => {
    await vmhopOk(['-c', 'a', 'undefine', NEW]);
    await vmhopOk(['-c', 'a', 'set-priority', LIVE, '10']);
    const before = await snapshotGuest(IP);
    const args = ['host', 'drain', 'a', '--to', 'b', '--max-per-host', '1', '--max-per-link', '1'];
    const drain = vmhop<{ error: { code: string; details: { drain: DrainJob } } }>(args, 180_000);
    // Cancel once the first move is under way (its migration job started).
    const status = async () => DrainJob.parse(await vmhopOk(['host', 'drain-status', 'a']));
    await waitFor(async () => (await status()).vms[0]?.job !== undefined, 60_000);
    await vmhopOk(['host', 'drain-cancel', 'a']);
    const r = await drain;
    expect(r.exitCode).toBe(1);
    expect(r.json.error.code).toBe('VMHOP_ERR_DRAIN_INCOMPLETE');
    const d = DrainJob.parse(r.json.error.details.drain);
    console.log(`cancelled drain: ${d.vms.map((v) => `${v.vm} ${v.state}`).join(', ')}`);
    expect(d.state).toBe('cancelled');
    expect(d.vms.map((v) => v.vm)).toEqual([LIVE, OFF]);
    expect(d.vms[1]).toMatchObject({ state: 'cancelled' });
    expect(d.vms[1]!.job).toBeUndefined();
    await expectStoppedOnlyOn('a');
    // Cancelled before its switchover it rolled back; past it, it finished: either way it runs once.
    const where = d.vms[0]!.state === 'moved' ? 'b' : 'a';
    expect(['moved', 'cancelled']).toContain(d.vms[0]!.state);
    await expectRunsOnlyOn(LIVE, where);
    await expectIntactOn({ ip: IP, vm: LIVE }, where, before);
  });
});
