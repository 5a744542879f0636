// Migration policies on the test bed (issue 15 §2, F22), through the CLI: a guest that rewrites
// its memory faster than a 4 MiB/s migration link sends it never converges in pre-copy. Strict
// (no post-copy, no throttling) refuses it in the pre-flight with the predicted figures, and ends
// with the source running a copy whose guest speeds up once it runs (F22); the default policy
// (finish) switches it to post-copy and it arrives intact, also when the guest speeds up
// mid-copy, which the report says. After each: the VM
// runs on exactly one host, the sampler never saw both run, and the guest is intact where it runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as testbed from '../../src/testbed/testbed.js';
import { guestCommand, waitForGuest } from '../../src/testbed/client.js';
import { snapshotGuest } from '../../src/testbed/integrity.js';
import type { HostPlan } from '../../src/testbed/plan.js';
import type { JobInfo } from '../../src/protocol/migration.js';
import { expectIntactOn } from './helpers/intact-on.js';
import { expectRunsOnlyOn as runsOnlyOn } from './helpers/runs-only-on.js';
import { removeVmEverywhere, vmhop, vmhopOk } from './helpers/cli.js';
import { startSampler } from './helpers/run-sampler.js';
import { waitFor } from './helpers/wait-for.js';

type Job = JobInfo & { error?: { code: string; message: string; details?: Record<string, unknown> } };
const VM = 'cv1';
const IP = '10.77.0.34';
/** The link as QEMU's cap: 4 MiB/s, below the 8 MiB working set rewritten at 8 MiB/s. */
const LINK = ['--bandwidth', '4'];
let hosts: HostPlan[];

const expectRunsOnlyOn = (host: 'a' | 'b') => runsOnlyOn(VM, host);

/** The guest's dirtier: `mib` MiB rewritten at `rate` MiB/s (the same buffer keeps its pages). */
async function dirty(mib: number, rate: number) {
  const r = (await guestCommand(IP, `mem-start ${mib} ${rate}`)) as { ok: boolean };
  expect(r.ok).toBe(true);
}

async function migrateWatched(from: string, to: string, flags: string[], during?: () => Promise<void>) {
  const before = await snapshotGuest(IP);
  const sampler = startSampler(hosts, VM);
  const run = vmhop<Job>(['-c', from, 'migrate', VM, '--to', to, '--live', ...LINK, ...flags], 120_000);
  await during?.();
  const job = await run;
  const s = await sampler.stop();
  expect(s.bothRunning).toBe(0);
  const r = job.json.report;
  console.log(
    `${from}->${to} ${flags.join(' ')}: ${job.json.state}, total ${r?.totalMs} ms, passes ${r?.passes}, downtime ${r?.downtimeMs} ms, ` +
      `post-copy ${JSON.stringify(r?.postcopy)}, error ${job.json.report?.error?.message ?? '-'}`,
  );
  return { job, before };
}

const progressOf = async (host: string) =>
  (await vmhopOk<{ job: JobInfo | null }>(['-c', host, 'domjobinfo', VM])).job;

beforeAll(async () => {
  hosts = [await testbed.hostOf('a'), await testbed.hostOf('b')];
  await vmhopOk([
    ...['-c', 'a', 'create', VM, '--test-guest', '--start', '--ip', IP, '--memory', '256'],
    ...['--pool', 'shared', '--disk', '64M', '--disk-writer', '--mem-dirty', '8'],
  ]);
  expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
});

afterAll(() => removeVmEverywhere(VM, [{ host: 'a', volume: `shared/${VM}-vda.qcow2` }]));

describe('migration policies with a guest that dirties faster than the link', () => {
  it('strict refuses it in the pre-flight with the predicted figures, and nothing moves', async () => {
    await dirty(8, 8);
    const r = await vmhop<Job>([
      '-c',
      'a',
      'migrate',
      VM,
      '--to',
      'b',
      '--live',
      ...LINK,
      '--policy',
      'strict',
    ]);
    console.log(`strict, pre-flight: ${r.json.error?.message}`);
    expect(r.exitCode).not.toBe(0);
    expect(r.json.error?.code).toBe('VMHOP_ERR_MIGRATION_PREFLIGHT');
    expect(r.json.error?.message).toMatch(
      /policy: policy strict allows precopy, and none is predicted to finish: precopy: never converges.*postcopy-after-precopy: [\d.]+ s, pause \d+ ms \(not allowed\)/,
    );
    await expectRunsOnlyOn('a');
  });

  it('strict ends the copy with the source running when the guest speeds up mid-copy (F22)', async () => {
    await dirty(8, 1);
    const { job, before } = await migrateWatched('a', 'b', ['--policy', 'strict'], async () => {
      await waitFor(async () => (await progressOf('a'))?.progress?.stage === 'ram', 60_000);
      await dirty(8, 16);
    });
    // A job that did not complete comes back as the CLI's error, carrying the job's report.
    expect(job.exitCode).toBe(1);
    const report = job.json.error?.details?.['report'] as JobInfo['report'];
    expect(job.json.error?.message).toMatch(/^policy strict ended the migration with the source running/);
    expect(report).toMatchObject({
      result: 'failed',
      options: { policy: 'strict', postcopy: false, autoConverge: false },
      error: {
        code: 'VMHOP_ERR_MIGRATION_FAILED',
        details: expect.objectContaining({ policy: 'strict', reason: expect.any(String) }),
      },
    });
    console.log(`strict, at run time: ${job.json.error?.message}`);
    await expectRunsOnlyOn('a');
    await expectIntactOn({ ip: IP, vm: VM }, 'a', before);
  });

  it('the default policy switches it to post-copy and it arrives intact', async () => {
    await dirty(8, 8);
    const { job, before } = await migrateWatched('a', 'b', []);
    expect(job.json.state).toBe('completed');
    expect(job.json.report?.options.policy).toBe('finish');
    expect(job.json.report?.postcopy?.reason).toMatch(/^policy finish: /);
    await expectRunsOnlyOn('b');
    await expectIntactOn({ ip: IP, vm: VM }, 'b', before, job.json.report?.resumedAt);
  });

  it('switches when the guest speeds up during the copy, and the report says why', async () => {
    await dirty(8, 1);
    const { job, before } = await migrateWatched('b', 'a', [], async () => {
      await waitFor(async () => (await progressOf('b'))?.progress?.stage === 'ram', 60_000);
      await dirty(8, 16);
    });
    expect(job.json.state).toBe('completed');
    expect(job.json.report?.postcopy?.reason).toMatch(/^policy finish: /);
    await expectRunsOnlyOn('a');
    await expectIntactOn({ ip: IP, vm: VM }, 'a', before, job.json.report?.resumedAt);
  });
});
