// Live migration over shared storage on the test bed, driven through the CLI: the happy
// path with a guest that keeps writing, and the failure matrix (target QEMU killed, link
// cut, cancel, a second migrate, pre-flight refusals). After every case: the VM runs on
// exactly one host, nothing temporary is left, and after every move, done or failed, the
// guest is intact where it runs (same boot, no oops for 10 s, heartbeat, memory, disk).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as testbed from '../../src/testbed/testbed.js';
import { guestCommand, measureGaps, waitForGuest } from '../../src/testbed/client.js';
import { snapshotGuest, type GuestSnapshot } from '../../src/testbed/integrity.js';
import { expectIntactOn } from './helpers/intact-on.js';
import { isAlive } from '../../src/agent/process/signals.js';
import type { HostPlan } from '../../src/testbed/plan.js';
import type { JobInfo } from '../../src/protocol/migration.js';
import { removeVmEverywhere, vmhop, vmhopOk, vmStates } from './helpers/cli.js';
import { startSampler } from './helpers/run-sampler.js';
import { waitFor } from './helpers/wait-for.js';

interface Vm {
  name: string;
  state: string;
  pid: number | null;
  owner: string;
}
const VM = 'mig1';
const IP = '10.77.0.31';
let hosts: HostPlan[];

const status = async () => (await guestCommand(IP, 'status')) as { tick: number; disk: { ack: number } };

/** Asserts the VM runs on exactly `host`, no incoming leftovers on the other. */
async function expectRunsOnlyOn(host: string) {
  const other = host === 'a' ? 'b' : 'a';
  // The job ends once the target runs the VM; the source's retirement follows in the background.
  const retired = async () => {
    const s = (await vmStates(VM))[other];
    return s === undefined || s === 'moved';
  };
  await waitFor(retired, 15_000).catch(() => undefined);
  const w = await vmStates(VM);
  expect(w[host]).toBe('running');
  expect(w[other] === undefined || w[other] === 'moved').toBe(true);
  const otherJobs = (await vmhopOk<{ jobs: JobInfo[] }>(['-c', other, 'job', 'list'])).jobs;
  expect(otherJobs.filter((j) => j.state === 'running')).toEqual([]);
}

beforeAll(async () => {
  hosts = [await testbed.hostOf('a'), await testbed.hostOf('b')];
  const vm = await vmhopOk<Vm>([
    '-c',
    'a',
    'create',
    VM,
    '--test-guest',
    '--start',
    '--ip',
    IP,
    '--memory',
    '256',
    '--pool',
    'shared',
    '--disk',
    '256M',
    '--disk-writer',
    '--mem-dirty',
    '48',
  ]);
  expect(vm.state).toBe('running');
  expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
});

afterEach(async () => {
  await testbed.link('migration', 'up');
  await testbed.shape({});
});

const intactOn = (host: string, before: GuestSnapshot, resumedAt?: number) =>
  expectIntactOn({ ip: IP, vm: VM }, host, before, resumedAt);

afterAll(() => removeVmEverywhere(VM, [{ host: 'a', volume: `shared/${VM}-vda.qcow2` }]));

async function migrate(from: string, to: string, extra: string[] = []) {
  return vmhop<JobInfo & { error?: { code: string; message: string } }>(
    ['-c', from, 'migrate', VM, '--to', to, '--live', ...extra],
    300_000,
  );
}

describe('live migration over shared storage', () => {
  it('prints the pre-flight of a dry run and moves nothing', async () => {
    const r = await vmhopOk<{ preflight: { name: string; ok: boolean }[] }>([
      '-c',
      'a',
      'migrate',
      VM,
      '--to',
      'b',
      '--live',
      '--dry-run',
    ]);
    expect(r.preflight.filter((c) => !c.ok)).toEqual([]);
    expect(r.preflight.map((c) => c.name)).toEqual(
      expect.arrayContaining(['target-reachable', 'disk-vda', 'cpu-model', 'machine-type', 'bridges', 'tls']),
    );
    await expectRunsOnlyOn('a');
  });

  it('moves the running guest to b: heartbeat and disk writes continue, never both running', async () => {
    const before = await snapshotGuest(IP);
    const sampler = startSampler(hosts, VM);
    const gaps = measureGaps(IP, 20_000, 20);
    let job;
    try {
      job = await migrate('a', 'b');
    } finally {
      await gaps;
    }
    const s = await sampler.stop();
    expect(job.exitCode).toBe(0);
    expect(job.json.state).toBe('completed');
    expect(job.json.report?.encrypted).toBe(true);
    expect(job.json.report?.downtimeMs).toBeGreaterThan(0);
    expect(s.bothRunning).toBe(0);
    expect(s.runningOn.b ?? 0).toBeGreaterThan(0);
    await expectRunsOnlyOn('b');
    const after = await status();
    expect(after.tick).toBeGreaterThan(before.tick);
    expect(after.disk.ack).toBeGreaterThan(before.diskAck);
    const g = await gaps;
    expect(g.tickWentBackwards).toBe(false);
    await intactOn('b', before, job.json.report?.resumedAt);
  });

  it('moves it back with --keep-source, and the kept definition cannot start while b owns it', async () => {
    const before = await snapshotGuest(IP);
    const job = await migrate('b', 'a', ['--keep-source']);
    expect(job.json.state).toBe('completed');
    await expectRunsOnlyOn('a');
    await intactOn('a', before, job.json.report?.resumedAt);
    expect((await vmStates(VM)).b).toBe('moved');
    const start = await vmhop(['-c', 'b', 'start', VM]);
    expect(start.exitCode).toBe(4);
    expect(JSON.stringify(start.json)).toMatch(/moved to host `a`.*--force/);
    await vmhopOk(['-c', 'b', 'undefine', VM]);
  });

  it('moves it with multifd (--parallel 2) and zstd-compressed channels (--compressed), and back: the guest neither rebooted nor lost a page', async () => {
    const before = await status();
    const sampler = startSampler(hosts, VM);
    let there;
    let back;
    let seen;
    try {
      const beforeThere = await snapshotGuest(IP);
      there = await migrate('a', 'b', ['--parallel', '2']);
      expect(there.json.state).toBe('completed');
      await intactOn('b', beforeThere, there.json.report?.resumedAt);
      const beforeBack = await snapshotGuest(IP);
      back = await migrate('b', 'a', ['--parallel', '2', '--compressed', 'zstd']);
      expect(back.json.state).toBe('completed');
      await intactOn('a', beforeBack, back.json.report?.resumedAt);
    } finally {
      seen = await sampler.stop();
    }
    expect(back.json.report?.options).toMatchObject({ parallel: 2, compressed: 'zstd' });
    expect(back.json.report?.notes.join(' ')).toMatch(/zstd-compressed/);
    expect(seen.bothRunning).toBe(0);
    await expectRunsOnlyOn('a');
    expect((await status()).tick).toBeGreaterThan(before.tick);
    console.log(
      `multifd: ${there.json.report?.totalMs} ms, ${there.json.report?.ramBytes} B; multifd+zstd: ${back.json.report?.totalMs} ms, ${back.json.report?.ramBytes} B`,
    );
  }, 300_000);

  it('refuses a second migrate while one runs, and the first one is unaffected', async () => {
    const before = await snapshotGuest(IP);
    const first = migrate('a', 'b', ['--bandwidth', '4']);
    await waitFor(
      async () =>
        (await vmhopOk<{ job: JobInfo | null }>(['-c', 'a', 'domjobinfo', VM])).job?.state === 'running',
    );
    const second = await migrate('a', 'b');
    expect(second.exitCode).toBe(4);
    expect(JSON.stringify(second.json)).toMatch(/VMHOP_ERR_MIGRATION_IN_PROGRESS/);
    await vmhopOk(['-c', 'a', 'domjobabort', VM]);
    const r = await first;
    expect(r.json).toMatchObject({ error: { code: 'VMHOP_ERR_MIGRATION_CANCELLED' } });
    await expectRunsOnlyOn('a');
    await intactOn('a', before);
  });

  it('keeps the source running when the target QEMU is killed during the RAM copy', async () => {
    const before = await snapshotGuest(IP);
    const run = migrate('a', 'b', ['--bandwidth', '4']);
    const pid = await waitFor(
      async () =>
        (await vmhopOk<{ vms: Vm[] }>(['-c', 'b', 'list'])).vms.find((v) => v.name === VM)?.pid ?? undefined,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    process.kill(pid, 'SIGKILL');
    const r = await run;
    expect(r.exitCode).toBe(1);
    expect(r.json).toMatchObject({ error: { code: 'VMHOP_ERR_MIGRATION_FAILED' } });
    await waitFor(async () => (await vmStates(VM)).b === undefined);
    await expectRunsOnlyOn('a');
    expect(isAlive(pid)).toBe(false);
    await intactOn('a', before);
  });

  it('cancels on its own when the migration link is cut (stall watchdog), and succeeds once it is back', async () => {
    const before = await snapshotGuest(IP);
    const run = migrate('a', 'b', ['--bandwidth', '4', '--stall-timeout', '3']);
    await waitFor(
      async () =>
        (await vmhopOk<{ job: JobInfo | null }>(['-c', 'a', 'domjobinfo', VM])).job?.progress?.stage ===
        'ram',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    const cutAt = Date.now();
    await testbed.link('migration', 'down');
    const r = await run;
    const detectedMs = Date.now() - cutAt;
    expect(r.json).toMatchObject({ error: { code: 'VMHOP_ERR_MIGRATION_FAILED' } });
    expect(JSON.stringify(r.json)).toMatch(/no progress/);
    console.log(`link cut detected and the job ended after ${detectedMs} ms (stall timeout 3 s)`);
    await waitFor(async () => (await vmStates(VM)).b === undefined, 30_000);
    await expectRunsOnlyOn('a');
    await intactOn('a', before);
    await testbed.link('migration', 'up');
    const beforeAgain = await snapshotGuest(IP);
    const again = await migrate('a', 'b');
    expect(again.json.state).toBe('completed');
    await expectRunsOnlyOn('b');
    await intactOn('b', beforeAgain, again.json.report?.resumedAt);
    const beforeBack = await snapshotGuest(IP);
    const back = await migrate('b', 'a');
    expect(back.json.state).toBe('completed');
    await intactOn('a', beforeBack, back.json.report?.resumedAt);
  }, 360_000);

  it('refuses before anything starts when the target lacks the shared pool or is unknown', async () => {
    await vmhopOk(['-c', 'b', 'pool-undefine', 'shared', '--force']);
    try {
      const r = await migrate('a', 'b');
      expect(r.exitCode).toBe(5);
      expect(JSON.stringify(r.json)).toMatch(/pool `shared` on `b` is not the same storage/);
    } finally {
      await vmhopOk(['-c', 'b', 'pool-define', 'shared', '--kind', 'shared', '--path', '/srv/vmhop-shared']);
    }
    const unknown = await migrate('a', 'nosuch');
    expect(unknown.exitCode).toBe(3);
    expect(JSON.stringify(unknown.json)).toMatch(/not a peer of `a`; peers: b/);
    await expectRunsOnlyOn('a');
  });
});
