// Post-copy on the test bed, through the CLI: the switch after the first RAM pass, the switch
// on request (migrate-postcopy), and a migration link cut while the target already runs the
// guest, recovered with migrate-pause / migrate-recover once the link is back. After each: the
// VM runs on exactly one host, the sampler never saw both run, the heartbeat never went back,
// and the guest is intact on the target (same boot, no oops for 10 s, memory and disk).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as testbed from '../../src/testbed/testbed.js';
import { runOnHost } from '../../src/testbed/host-exec.js';
import { guestCommand, startGapProbe, waitForGuest } from '../../src/testbed/client.js';
import { expectGuestIntact, snapshotGuest } from '../../src/testbed/integrity.js';
import type { HostPlan } from '../../src/testbed/plan.js';
import type { JobInfo } from '../../src/protocol/migration.js';
import { removeVmEverywhere, vmhop, vmhopOk, vmStates } from './helpers/cli.js';
import { startSampler } from './helpers/run-sampler.js';
import { waitFor } from './helpers/wait-for.js';

type Job = JobInfo & { error?: { code: string; message: string } };
const VM = 'pc1';
const IP = '10.77.0.32';
let hosts: HostPlan[];

async function expectRunsOnlyOn(host: string) {
  expect(await vmStates(VM)).toEqual({ [host]: 'running' });
  for (const h of ['a', 'b']) {
    const jobs = (await vmhopOk<{ jobs: JobInfo[] }>(['-c', h, 'job', 'list'])).jobs;
    expect(jobs.filter((j) => j.state === 'running')).toEqual([]);
  }
}

const status = async () => (await guestCommand(IP, 'status')) as { tick: number; disk: { ack: number } };

/** Runs one migration while the sampler and the client's probe watch; checks the guest after it. */
async function migrateWatched(from: string, to: string, flags: string[], during?: () => Promise<void>) {
  const before = await snapshotGuest(IP);
  const sampler = startSampler(hosts, VM);
  const gaps = startGapProbe(IP);
  let job: Awaited<ReturnType<typeof vmhop<Job>>> | undefined;
  let watching = true;
  try {
    // Within the test's 180 s: a migration that hangs shows its journal instead of a bare timeout.
    const run = vmhop<Job>(['-c', from, 'migrate', VM, '--to', to, '--live', ...flags], 140_000);
    await during?.();
    job = await run;
    await testbed.link('migration', 'up');
    watching = false;
    const g = await gaps.stop();
    const s = await sampler.stop();
    expect(job.json.state, JSON.stringify(job.json.report?.error)).toBe('completed');
    expect(s.bothRunning).toBe(0);
    expect(g.tickWentBackwards).toBe(false);
    const after = await status();
    expect(after.tick).toBeGreaterThan(before.tick);
    expect(after.disk.ack).toBeGreaterThan(before.diskAck);
    const intact = await expectGuestIntact({
      ip: IP,
      before,
      targetHost: to,
      vm: VM,
      switchoverAt: job.json.report?.resumedAt ?? Date.now(),
    });
    console.log(
      `${from}->${to} ${flags.join(' ')}: ${job.json.state}, total ${job.json.report?.totalMs} ms, downtime ${job.json.report?.downtimeMs} ms, ` +
        `post-copy ${JSON.stringify(job.json.report?.postcopy)}, ${job.json.report?.postcopyPageRequests ?? 0} page requests, client gap ${g.maxGapMs} ms; ${intact.summary}`,
    );
    return job;
  } catch (e) {
    // Whatever failed (a hang, an error, a guest that did not survive): where both hosts stood.
    await testbed.link('migration', 'up');
    if (watching) await Promise.allSettled([gaps.stop(), sampler.stop()]);
    const stood = await showWhereItStood(from, to);
    if (e instanceof Error) e.message += `\n--- where the hosts stood ---\n${stood}`;
    throw e;
  }
}

/**
 * Where both hosts stood when a watched migration failed: each host's newest job for the VM with
 * its journal, and the end of its agent's log. Printed whole, and returned in brief for the
 * failure's message, which CI shows even when it shows only the end of the output.
 */
async function showWhereItStood(from: string, to: string): Promise<string> {
  const brief: string[] = [];
  for (const h of [from, to]) {
    const list = await vmhop<{ jobs: JobInfo[] }>(['-c', h, 'job', 'list']).catch(() => undefined);
    // Newest first, as the agent lists them.
    for (const j of (list?.json.jobs ?? []).filter((x) => x.vm === VM).slice(0, 1)) {
      const shown = await vmhop<{ state?: string; journal?: { at: string; entry: string }[] }>([
        ...['-c', h, 'job', 'show', j.id],
      ]).catch(() => undefined);
      console.log(`host ${h}, job ${j.id}: ${JSON.stringify(shown?.json).slice(0, 6000)}`);
      brief.push(`${h} job ${j.id.slice(0, 8)} ${shown?.json.state}:`);
      for (const e of (shown?.json.journal ?? []).slice(-12))
        brief.push(`  ${e.at.slice(11, 23)} ${e.entry.slice(0, 150)}`);
    }
    const plan = hosts.find((x) => x.name === h);
    const log = plan
      ? (await runOnHost(plan, ['tail', '-n', '40', `${plan.backingRun}/agent.log`], { allowFail: true }))
          .stdout
      : '';
    console.log(`host ${h}, end of agent.log:\n${log}`);
  }
  return brief.join('\n');
}

/** Post-copy from the 4th second on, slowed so that it lasts, with a 3 s stall timeout. */
const POSTCOPY_AFTER_4S = [
  ...['--postcopy', '--timeout', '4', '--timeout-action', 'postcopy'],
  ...['--bandwidth', '4', '--stall-timeout', '3'],
];

/** Once the job is in post-copy, and 1.5 s more so that the target runs the guest on missing pages. */
async function inPostcopy(source: string): Promise<void> {
  await waitFor(async () => (await progressOf(source))?.progress?.stage === 'postcopy', 60_000);
  await new Promise((r) => setTimeout(r, 1_500));
}

const progressOf = async (host: string) =>
  (await vmhopOk<{ job: JobInfo | null }>(['-c', host, 'domjobinfo', VM])).job;

beforeAll(async () => {
  hosts = [await testbed.hostOf('a'), await testbed.hostOf('b')];
  await vmhopOk([
    ...['-c', 'a', 'create', VM, '--test-guest', '--start', '--ip', IP, '--memory', '256'],
    ...['--pool', 'shared', '--disk', '128M', '--disk-writer', '--mem-dirty', '48'],
  ]);
  expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
});

afterEach(async () => {
  await testbed.link('migration', 'up');
});

afterAll(() => removeVmEverywhere(VM, [{ host: 'a', volume: `shared/${VM}-vda.qcow2` }]));

describe('post-copy live migration over shared storage', () => {
  it('switches to post-copy after the first RAM pass and finishes on b', async () => {
    const job = await migrateWatched('a', 'b', [
      '--postcopy',
      '--postcopy-after-precopy',
      '--bandwidth',
      '8',
    ]);
    expect(job.exitCode).toBe(0);
    expect(job.json.state).toBe('completed');
    expect(job.json.report?.postcopy).toMatchObject({
      reason: expect.stringMatching(/first full RAM pass/),
      recoveries: 0,
    });
    await expectRunsOnlyOn('b');
  });

  it('switches when asked (migrate-postcopy), which only the source host accepts', async () => {
    let refused;
    const job = await migrateWatched('b', 'a', ['--postcopy', '--bandwidth', '4'], async () => {
      await waitFor(async () => (await progressOf('b'))?.progress?.stage === 'ram');
      refused = await vmhop(['-c', 'a', 'migrate-postcopy', VM]);
      await vmhopOk(['-c', 'b', 'migrate-postcopy', VM]);
    });
    expect(JSON.stringify(refused)).toMatch(
      /incoming side on this host: ask its source, `vmhop -c b migrate-postcopy pc1`/,
    );
    expect(job.json.state).toBe('completed');
    expect(job.json.report?.postcopy?.reason).toMatch(/migrate-postcopy/);
    await expectRunsOnlyOn('a');
  });

  it('recovers a post-copy whose link is cut while the target runs the guest', async () => {
    let cutAt = 0;
    let upAt = 0;
    const job = await migrateWatched('a', 'b', POSTCOPY_AFTER_4S, async () => {
      await inPostcopy('a');
      cutAt = Date.now();
      await testbed.link('migration', 'down');
      await new Promise((r) => setTimeout(r, 8_000));
      // The job is past its commit: it may not be cancelled, and it waits for the link.
      expect((await vmhop(['-c', 'a', 'domjobabort', VM])).exitCode).not.toBe(0);
      expect((await progressOf('a'))?.state).toBe('running');
      upAt = Date.now();
      await testbed.link('migration', 'up');
    });
    expect(job.json.state).toBe('completed');
    expect(job.json.report?.postcopy?.recoveries).toBeGreaterThanOrEqual(1);
    const journal = (
      await vmhopOk<{ journal: { at: string; entry: string }[] }>(['-c', 'a', 'job', 'show', job.json.id])
    ).journal;
    const pausedAt = Date.parse(journal.find((e) => /pausing the stream/.test(e.entry))?.at ?? '');
    const resumedAt = Date.parse(journal.find((e) => /post-copy resumed/.test(e.entry))?.at ?? '');
    expect(pausedAt).toBeGreaterThan(cutAt);
    expect(resumedAt).toBeGreaterThan(upAt);
    console.log(
      `link cut: stream paused ${pausedAt - cutAt} ms after the cut (stall timeout 3 s), resumed ${resumedAt - upAt} ms after the link came back`,
    );
    await expectRunsOnlyOn('b');
  });

  it('recovers a post-copy whose target agent is killed and restarted while the guest runs there', async () => {
    // The RAM stream goes through the target agent's gate (incoming/ram-gate.ts): the agent's
    // death cuts it, and the restarted agent must keep the committed job and take the recovery.
    let killedAt = 0;
    const job = await migrateWatched('b', 'a', POSTCOPY_AFTER_4S, async () => {
      await inPostcopy('b');
      const agent = (await testbed.status()).hosts.find((h) => h.name === 'a')?.agent;
      killedAt = Date.now();
      process.kill(agent!.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 2_000));
      await testbed.up();
    });
    expect(job.json.state, JSON.stringify(job.json.report?.error)).toBe('completed');
    expect(job.json.report?.postcopy?.recoveries).toBeGreaterThanOrEqual(1);
    const target = await vmhopOk<{ state: string; journal: { at: string; entry: string }[] }>([
      '-c',
      'a',
      'job',
      'show',
      job.json.id,
    ]);
    expect(target.state).toBe('completed');
    expect(target.journal.map((e) => e.entry)).toContainEqual(
      expect.stringMatching(/the target agent restarted during post-copy/),
    );
    const resumed = (
      await vmhopOk<{ journal: { at: string; entry: string }[] }>(['-c', 'b', 'job', 'show', job.json.id])
    ).journal.find((e) => /post-copy resumed/.test(e.entry));
    console.log(
      `target agent killed: post-copy resumed ${Date.parse(resumed?.at ?? '') - killedAt} ms after the kill`,
    );
    await expectRunsOnlyOn('a');
  });
});
