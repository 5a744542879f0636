// The failure matrix of issue 13, played on two engines in one process: agents `a` (source) and
// `b` (target) over faulty peer links in both directions, a QEMU on each side (the 64 MiB test
// guest, running), a live migration over shared nothing (no disks) with the commit answer
// bounded at 2 s. A lost request, a lost answer, a frozen target agent and a QEMU killed at a
// chosen call are injected at the calls of the migration. Each case checks the oracles of
// helpers/pair-oracles.ts: never both hosts running the vCPUs (sampled every 50 ms), the VM
// running where the job's outcome says, the target clean after a failure, the job's end and
// message; and a migration afterwards succeeds where the case could disturb the next one.
// The table of cases, outcomes and times to reconcile is printed at the end. The QEMU is a
// backend: the fake QEMU process (test/fake-qemu/, the unit project's run) or the installed
// QEMU under TCG (test/e2e/engine-pair-qemu.test.ts, CI's run against the real thing).
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { JobInfo } from '../../../src/protocol/migration.js';
import { agentPair } from './agent-pair.js';
import { FaultyPeerLink, type Rule } from './faulty-peer-link.js';
import { expectTargetClean, watchRunners, whereRuns, within } from './pair-oracles.js';
import type { TestAgent } from './test-agent.js';
import { testGuest } from './vm-specs.js';
import { buildFakeQemu, type FakeQemu } from '../../fake-qemu/build.js';
import { isAlive } from '../../../src/agent/process/signals.js';
import { timestampMs, type QmpTimestamp } from '../../../src/qmp/index.js';

const VM = 'v1';

/** Which QEMU the agents run: the fake process, or the installed QEMU (`qemu-system-x86_64`). */
export type PairBackend = 'fake' | 'qemu';

/** Declares the matrix's cases over `backend`; a test file calls it once. */
export function pairMatrix(backend: PairBackend): void {
  const guest = testGuest();
  const table: string[] = [];
  let fake: FakeQemu | undefined;
  let loopback = 1;

  beforeAll(async () => {
    if (backend === 'fake') fake = await buildFakeQemu();
  });

  afterAll(async () => {
    await fake?.remove();
    if (table.length)
      console.log(
        [
          `| case (${backend} QEMU) | fault | outcome | both running | reconciled in |`,
          '|---|---|---|---|---|',
          ...table,
        ].join('\n'),
      );
  });

  interface Pair {
    a: TestAgent;
    b: TestAgent;
    /** a → b */
    link: FaultyPeerLink;
    /** b → a (the target's watchdog asks the source) */
    back: FaultyPeerLink;
  }

  /** Two agents for one case, closed when it ends: over the fake QEMU, cases run at once. */
  async function pair(onTestFinished: TestContext['onTestFinished']): Promise<Pair> {
    const agents: TestAgent[] = [];
    onTestFinished(async () => {
      await Promise.all(agents.map((x) => x.close()));
    });
    let back: FaultyPeerLink | undefined;
    const { a, b, link } = await agentPair(agents, {
      link: (name, t) => new FaultyPeerLink(name, t),
      reverse: (name, s) => (back = new FaultyPeerLink(name, s)),
      config: { commitAnswerSeconds: 2 },
      // Cases at once: each target's RAM listener on its own loopback address, so that the
      // oracle "the listener is closed" never meets another case's listener on the same port.
      ...(fake
        ? { qemuBinary: fake.binary, targetConfig: { migrationAddress: `127.0.0.${++loopback}` } }
        : {}),
    });
    return { a, b, link, back: back! };
  }

  async function migrate(
    from: TestAgent,
    to: string,
    options: Record<string, unknown> = {},
    during?: (jobId: string) => Promise<void>,
  ): Promise<JobInfo> {
    const res = await from.api('POST', '/v1/migrations', {
      vm: VM,
      to,
      mode: 'live-shared',
      options: { insecure: true, stallTimeoutMs: 5_000, ...options },
    });
    expect(res.status, res.text).toBe(202);
    const id = res.body.job.id as string;
    await during?.(id);
    // A source agent restarted mid-job: the first process's run ends with it (its registry is
    // closed under it); the restarted agent's registry says where the job stands.
    return from.services.engine.wait(id).catch(() => from.services.engine.info(id));
  }

  /**
   * The source's copy is gone: its QEMU quit and its definition removed. The job completes
   * before this (the retirement runs in the background), so it is awaited, within a bound.
   */
  async function expectSourceRetired(p: Pair): Promise<void> {
    await within(() => p.a.services.vmStore.get(VM) === undefined, 5_000, 'the source retired its copy');
  }

  /** Kills the VM's QEMU on `agent` with SIGKILL (a crash) and waits until it is gone. */
  async function killQemu(agent: TestAgent): Promise<void> {
    const pid = agent.services.vmStore.get(VM)?.pid;
    if (!pid || !agent.isOurQemu(pid)) throw new Error(`no QEMU of ${VM} on ${agent.services.config.name}`);
    process.kill(pid, 'SIGKILL');
    await within(() => !isAlive(pid), 5_000, `QEMU ${pid} gone`);
  }

  /** Waits until the job of `agent` copies RAM, a moment into it. */
  async function inRamCopy(agent: () => TestAgent, jobId: string): Promise<void> {
    await within(
      () => agent().services.engine.info(jobId).progress?.stage === 'ram',
      20_000,
      'the RAM copy runs',
    );
    await new Promise((r) => setTimeout(r, 300));
  }

  /** Every call to or from an agent that is gone: no answer. */
  const CALLS_OF_A_DEAD_AGENT: Rule[] = (
    ['hostInfo', 'prepare', 'finish', 'abort', 'postcopy', 'job'] as const
  ).map((call) => ({ call, fault: { kind: 'drop' } }));

  /** The source agent killed and started again: new links from it, b's link to it retargeted. */
  async function restartSource(p: Pair): Promise<void> {
    await p.a.restart((s) => {
      p.link = new FaultyPeerLink('b', p.b.services);
      s.attachPeer(p.link);
    });
    p.back.retarget(p.a.services);
  }

  /** The target agent killed and started again (its RAM listener goes with the process). */
  async function restartTarget(p: Pair): Promise<void> {
    await p.b.restart((s) => {
      p.back = new FaultyPeerLink('a', p.a.services);
      s.attachPeer(p.back);
    });
    p.link.retarget(p.b.services);
  }

  /** Runs one case: the rules on a → b, the migration, the runners watched throughout. */
  async function play(p: Pair, rules: Rule[]) {
    p.link.rules = rules;
    const watch = watchRunners(p.a, p.b, VM);
    const job = await migrate(p.a, 'b');
    return { job, watch };
  }

  /** The runners oracle over the whole case (never both), and the case's row of the table. */
  async function endCase(
    watch: ReturnType<typeof watchRunners>,
    name: string,
    fault: string,
    outcome: string,
    ms?: number,
  ): Promise<void> {
    const { both, samples } = await watch.stop();
    expect(both, 'samples where both hosts ran the vCPUs').toBe(0);
    table.push(
      `| ${name} | ${fault} | ${outcome} | ${both} of ${samples} | ${ms === undefined ? '-' : `${ms} ms`} |`,
    );
  }

  /** Cases at once over the fake (its processes are light); one at a time on real TCG guests. */
  const test = backend === 'fake' ? it.concurrent : it;

  describe.skipIf(!guest)(`the failure matrix on two engines (${backend} QEMU)`, () => {
    test('F9 prepare lost on the way: the source runs on, nothing is made on the target', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [{ call: 'prepare', fault: { kind: 'drop' } }]);
      expect(job.state).toBe('failed');
      expect(job.report?.error?.message).toMatch(/did not answer prepare/);
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      await expectTargetClean(p.b, job.id, VM);
      await endCase(watch, 'F9', 'prepare: request lost', `${job.state}, runs on a`);
    });

    test('F9 prepare answer lost: the target made everything, and removes it without being asked twice', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [{ call: 'prepare', fault: { kind: 'lose-reply' } }]);
      expect(job.state).toBe('failed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      const ms = await within(
        () => p.b.services.jobStore.find(job.id)?.state !== 'running' && p.b.qemuPids().length === 0,
        10_000,
        'target cleaned up',
      );
      await expectTargetClean(p.b, job.id, VM);
      await endCase(watch, 'F9', 'prepare: answer lost', `${job.state}, runs on a, target clean`, ms);
      p.link.heal();
      expect((await migrate(p.a, 'b')).state).toBe('completed');
    });

    test('F10 finish lost once at the switchover: the source asks again, the target commits once', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [{ call: 'finish', times: 1, fault: { kind: 'drop' } }]);
      expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('b');
      await expectSourceRetired(p);
      expect(p.link.log.filter((c) => c.startsWith('finish'))).toEqual(['finish (drop)', 'finish']);
      await endCase(watch, 'F10', 'finish: request lost once', `${job.state}, runs on b`);
    });

    test('F10 finish answer lost once after the commit: the repeated finish answers "committed"', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [{ call: 'finish', times: 1, fault: { kind: 'lose-reply' } }]);
      expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('b');
      // The target's timing went with the lost answer: the pause is an upper bound, and says so.
      expect(job.report?.notes).toContainEqual(
        expect.stringMatching(/downtime counted until the source learnt of the commit/),
      );
      await endCase(watch, 'F10', 'finish: answer lost once', `${job.state}, runs on b`);
    });

    test('F11 no answer to finish past the bound, the target had committed: paused, then follows the target', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [{ call: 'finish', fault: { kind: 'lose-reply' } }]);
      expect(job.state).toBe('needs-operator');
      expect(job.report?.error?.message).toMatch(/the source stays paused and keeps asking `b`/);
      expect(await whereRuns(p.a, p.b, VM)).toBe('b');
      expect(p.a.services.vmStore.get(VM)?.state).toBe('paused');
      p.link.heal();
      const ms = await within(
        () => p.a.services.jobStore.get(job.id).state !== 'needs-operator',
        15_000,
        'source follows the target',
      );
      expect(p.a.services.jobStore.get(job.id).state).toBe('completed');
      await expectSourceRetired(p);
      await endCase(
        watch,
        'F11',
        'finish: every answer lost (target committed)',
        'needs-operator → completed, runs on b',
        ms,
      );
    });

    test('F11 no finish reached the target past the bound: the target gives up, the source runs again', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [{ call: 'finish', fault: { kind: 'drop' } }]);
      expect(job.state).toBe('needs-operator');
      expect(await whereRuns(p.a, p.b, VM)).toBe('none');
      p.link.heal();
      const ms = await within(
        () => p.a.services.jobStore.get(job.id).state !== 'needs-operator',
        15_000,
        'source follows the target',
      );
      expect(p.a.services.jobStore.get(job.id).state).toBe('failed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      await expectTargetClean(p.b, job.id, VM);
      await endCase(
        watch,
        'F11',
        'finish: every request lost',
        'needs-operator → failed, runs on a, target clean',
        ms,
      );
      expect((await migrate(p.a, 'b')).state).toBe('completed');
    });

    /** From the first finish on, b's agent is frozen in both directions (its watchdog too) until `wake`. */
    function freezeTargetAtFinish(p: Pair): { rules: Rule[]; wake: () => void } {
      let wake!: () => void;
      const woken = new Promise<void>((r) => (wake = r));
      const frozen = { kind: 'freeze' as const, until: woken, answerAfterMs: 500 };
      const rules: Rule[] = [
        {
          call: 'finish',
          fault: {
            kind: 'before',
            run: async () => {
              p.link.rules = [
                { call: 'finish', fault: frozen },
                { call: 'job', fault: frozen },
                { call: 'abort', fault: frozen },
              ];
              p.back.rules = [{ call: 'job', fault: frozen }];
            },
          },
          times: 1,
        },
      ];
      return {
        rules,
        wake: () => {
          wake();
          p.link.heal();
          p.back.heal();
        },
      };
    }

    test('F14 target agent frozen at the switchover past the bound, then woken: it refuses the stale finish, the source runs again', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const freeze = freezeTargetAtFinish(p);
      const { job, watch } = await play(p, freeze.rules);
      expect(job.state).toBe('needs-operator');
      expect(await whereRuns(p.a, p.b, VM)).toBe('none');
      freeze.wake();
      const ms = await within(
        () => p.a.services.jobStore.get(job.id).state !== 'needs-operator',
        20_000,
        'source follows the woken target',
      );
      expect(p.a.services.jobStore.get(job.id).state).toBe('failed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      await within(() => p.b.qemuPids().length === 0, 10_000, 'target QEMU gone');
      await expectTargetClean(p.b, job.id, VM);
      expect(
        p.b.services.jobStore
          .journalOf(job.id)
          .map((l) => l.entry)
          .join('\n'),
      ).toMatch(/refused the commit: finish taken \d+ s after the source's commit window/);
      await endCase(
        watch,
        'F14',
        'target agent frozen from the finish on, woken later',
        'needs-operator → failed (target refused the stale finish), runs on a',
        ms,
      );
      expect((await migrate(p.a, 'b')).state).toBe('completed');
    });

    test('F14 operator forces "the source runs it" while the target is frozen; the woken target never runs the VM', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const freeze = freezeTargetAtFinish(p);
      const { job, watch } = await play(p, freeze.rules);
      expect(job.state).toBe('needs-operator');
      // b cannot be asked: the plain choice is refused, the forced one resumes the source.
      await expect(p.a.services.engine.resolve(job.id, 'source')).rejects.toThrow(/add --force/);
      const resolved = await p.a.services.engine.resolve(job.id, 'source', true);
      expect(resolved.state).toBe('failed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      freeze.wake();
      // The queued finish reaches b now; it must refuse it and remove its copy.
      const ms = await within(
        () => p.b.services.jobStore.find(job.id)?.state === 'failed',
        15_000,
        'the woken target refuses its finish',
      );
      await expectTargetClean(p.b, job.id, VM);
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      await endCase(
        watch,
        'F14',
        'target frozen, operator forces the source, target woken',
        'source runs; the woken target refused its finish',
        ms,
      );
    });

    test('F2 target QEMU killed at the pre-switchover pause: the source runs again, the target is clean', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [
        { call: 'finish', times: 1, fault: { kind: 'before', run: () => killQemu(p.b) } },
      ]);
      expect(job.state).toBe('failed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      const ms = await within(() => p.b.qemuPids().length === 0, 10_000, 'target clean');
      await expectTargetClean(p.b, job.id, VM);
      await endCase(watch, 'F2', 'target QEMU killed at the pause', `${job.state}, runs on a`, ms);
      expect((await migrate(p.a, 'b')).state).toBe('completed');
    });

    test('F6 target QEMU killed right after it resumed: the source is never resumed, the target owns the VM', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [
        { call: 'finish', times: 1, fault: { kind: 'after', run: () => killQemu(p.b) } },
      ]);
      expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('none');
      await expectSourceRetired(p);
      const onB = await within(
        () => p.b.services.vmStore.get(VM)?.state === 'crashed',
        5_000,
        'target reports the crash',
      );
      expect(p.b.services.vmStore.get(VM)?.owner).toBe('local');
      await endCase(
        watch,
        'F6',
        'target QEMU killed after its resume',
        `${job.state}, b owns it (${p.b.services.vmStore.get(VM)?.state})`,
        onB,
      );
    });

    test('F4 source QEMU killed during the RAM copy: a crash of the VM with the command to start it; the target keeps nothing', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const watch = watchRunners(p.a, p.b, VM);
      const job = await migrate(p.a, 'b', { bandwidthMiBs: 1 }, async (jobId) => {
        await inRamCopy(() => p.a, jobId);
        await killQemu(p.a);
      });
      expect(job.state).toBe('failed');
      expect(job.report?.error).toMatchObject({ code: 'VMHOP_ERR_VM_CRASHED' });
      expect(job.report?.error?.message).toMatch(
        /^the source QEMU of `v1` exited during the migration \(the VM crashed\); nothing was committed on `b`.*`vmhop start v1`/,
      );
      const ms = await within(
        () => p.b.services.jobStore.find(job.id)?.state !== 'running',
        15_000,
        'target clean',
      );
      await expectTargetClean(p.b, job.id, VM);
      expect(await whereRuns(p.a, p.b, VM)).toBe('none');
      const started = await p.a.api('POST', '/v1/vms/v1/start', {});
      expect(started.status, started.text).toBe(200);
      await endCase(
        watch,
        'F4',
        'source QEMU killed during the RAM copy',
        'failed (VM crashed), started again on a',
        ms,
      );
      expect((await migrate(p.a, 'b')).state).toBe('completed');
    });

    test('F5 source QEMU killed after the commit: the target runs, the job completes', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [
        { call: 'finish', times: 1, fault: { kind: 'after', run: () => killQemu(p.a) } },
      ]);
      expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('b');
      await expectSourceRetired(p);
      await endCase(watch, 'F5', 'source QEMU killed after the commit', `${job.state}, runs on b`);
    });

    test('F13 target agent restarted after prepare, before the RAM copy: the source runs on, the target cleans up', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [
        { call: 'prepare', times: 1, fault: { kind: 'after', run: () => restartTarget(p) } },
      ]);
      expect(job.state).toBe('failed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      const ms = await within(() => p.b.qemuPids().length === 0, 10_000, 'target clean');
      await expectTargetClean(p.b, job.id, VM);
      expect(p.b.services.jobStore.journalOf(job.id).map((l) => l.entry)).toContainEqual(
        expect.stringMatching(/abort: the target agent restarted before the commit/),
      );
      await endCase(
        watch,
        'F13',
        'target agent restarted after prepare',
        `${job.state}, runs on a, target clean`,
        ms,
      );
      expect((await migrate(p.a, 'b')).state).toBe('completed');
    });

    test('F13 target agent gone after prepare (not back): the source names the silent agent, not QEMU’s socket error', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const gone = async () => {
        // The process died: its RAM listener and links with it.
        p.b.services.engine.target.close();
        p.link.rules = CALLS_OF_A_DEAD_AGENT;
        p.back.rules = CALLS_OF_A_DEAD_AGENT;
      };
      const { job, watch } = await play(p, [
        { call: 'prepare', times: 1, fault: { kind: 'after', run: gone } },
      ]);
      expect(job.state).toBe('failed');
      expect(job.report?.error?.message).toMatch(
        /the agent of `b` stopped answering during the migration \(.+\); nothing was committed and the VM runs on the source/,
      );
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      // Back: it finds the source ended the job and removes its side.
      p.link.heal();
      p.back.heal();
      const ms = await within(
        () => p.b.services.jobStore.get(job.id).state !== 'running' && p.b.qemuPids().length === 0,
        10_000,
        'target clean once back',
      );
      await expectTargetClean(p.b, job.id, VM);
      await endCase(
        watch,
        'F13',
        'target agent gone after prepare, back later',
        `${job.state} (names the silent agent), runs on a`,
        ms,
      );
    });

    test('F13 target agent restarted at the switchover, before the commit: the source runs again', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [
        { call: 'finish', times: 1, fault: { kind: 'before', run: () => restartTarget(p) } },
      ]);
      expect(job.state).toBe('failed');
      expect(job.report?.error?.message).toMatch(/already ended failed before any commit/);
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      await expectTargetClean(p.b, job.id, VM);
      await endCase(
        watch,
        'F13',
        'target agent restarted at the switchover',
        `${job.state}, runs on a, target clean`,
      );
    });

    test('F13 target agent restarted right after the commit: the restarted target keeps the VM running', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [
        { call: 'finish', times: 1, fault: { kind: 'after', run: () => restartTarget(p) } },
      ]);
      expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('b');
      expect(p.b.services.jobStore.get(job.id).state).toBe('completed');
      await endCase(watch, 'F13', 'target agent restarted after the commit', `${job.state}, runs on b`);
    });

    test('F12 source agent restarted right after the target prepared: the restarted source has the target give up', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [
        { call: 'prepare', times: 1, fault: { kind: 'after', run: () => restartSource(p) } },
      ]);
      const ms = await within(
        () => p.a.services.jobStore.get(job.id).state !== 'running',
        20_000,
        'restarted source settles',
      );
      expect(p.a.services.jobStore.get(job.id).state).toBe('failed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      await within(() => p.b.services.jobStore.find(job.id)?.state !== 'running', 15_000, 'target gives up');
      await expectTargetClean(p.b, job.id, VM);
      await endCase(
        watch,
        'F12',
        'source agent restarted after prepare',
        'failed, runs on a, target clean',
        ms,
      );
      expect((await migrate(p.a, 'b')).state).toBe('completed');
    });

    test('F12 source agent restarted during the RAM copy: the restarted source cancels it, the guest runs on', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const watch = watchRunners(p.a, p.b, VM);
      let id = '';
      await migrate(p.a, 'b', { bandwidthMiBs: 2 }, async (jobId) => {
        id = jobId;
        await inRamCopy(() => p.a, jobId);
        await restartSource(p);
      });
      const ms = await within(
        () => p.a.services.jobStore.get(id).state !== 'running',
        20_000,
        'restarted source settles',
      );
      expect(p.a.services.jobStore.get(id).state).toBe('failed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      await within(() => p.b.services.jobStore.find(id)?.state !== 'running', 15_000, 'target gives up');
      await expectTargetClean(p.b, id, VM);
      await endCase(
        watch,
        'F12',
        'source agent restarted during the RAM copy',
        'failed, runs on a, target clean',
        ms,
      );
      expect((await migrate(p.a, 'b')).state).toBe('completed');
    });

    test('F13 target agent restarted during the RAM copy: the stream breaks, the source runs on, the target cleans up', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const watch = watchRunners(p.a, p.b, VM);
      const job = await migrate(p.a, 'b', { bandwidthMiBs: 2 }, async (jobId) => {
        await inRamCopy(() => p.a, jobId);
        await restartTarget(p);
      });
      expect(job.state).toBe('failed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      const ms = await within(() => p.b.qemuPids().length === 0, 15_000, 'target clean');
      await expectTargetClean(p.b, job.id, VM);
      await endCase(
        watch,
        'F13',
        'target agent restarted during the RAM copy',
        `${job.state}, runs on a, target clean`,
        ms,
      );
      expect((await migrate(p.a, 'b')).state).toBe('completed');
    });

    test('F12 source agent restarted while it asks for the commit: it follows the target, which never committed', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [
        { call: 'finish', times: 1, fault: { kind: 'before', run: () => restartSource(p) } },
      ]);
      // The first process's job ended with it; the restarted agent owns the job now.
      const ms = await within(
        () => !['running', 'needs-operator'].includes(p.a.services.jobStore.get(job.id).state),
        20_000,
        'restarted source settles',
      );
      expect(p.a.services.jobStore.get(job.id).state).toBe('failed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      await expectTargetClean(p.b, job.id, VM);
      await endCase(
        watch,
        'F12',
        'source agent restarted at the commit (target not committed)',
        'failed, runs on a, target clean',
        ms,
      );
      expect((await migrate(p.a, 'b')).state).toBe('completed');
    });

    test('F12 source agent restarted right after the commit: the restarted source retires its copy', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      const { job, watch } = await play(p, [
        { call: 'finish', times: 1, fault: { kind: 'after', run: () => restartSource(p) } },
      ]);
      const ms = await within(
        () => !['running', 'needs-operator'].includes(p.a.services.jobStore.get(job.id).state),
        20_000,
        'restarted source settles',
      );
      expect(p.a.services.jobStore.get(job.id).state).toBe('completed');
      expect(await whereRuns(p.a, p.b, VM)).toBe('b');
      await expectSourceRetired(p);
      await endCase(
        watch,
        'F12',
        'source agent restarted after the commit',
        'completed, runs on b, source retired',
        ms,
      );
    });

    test('a migration cancelled during the RAM copy keeps in its report what had crossed', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      p.link.rules = [];
      const watch = watchRunners(p.a, p.b, VM);
      const job = await migrate(p.a, 'b', { bandwidthMiBs: 1 }, async (id) => {
        await within(
          () => (p.a.services.engine.currentFor(VM)?.progress?.ramTransferredBytes ?? 0) > 256 * 1024,
          30_000,
          'RAM moving',
        );
        p.a.services.engine.abort(id);
      });
      expect(job.state).toBe('cancelled');
      expect(job.report?.ramBytes).toBeGreaterThan(256 * 1024);
      expect(await whereRuns(p.a, p.b, VM)).toBe('a');
      await within(() => p.b.qemuPids().length === 0, 10_000, 'target clean');
      await endCase(
        watch,
        'cancel',
        'cancelled during the RAM copy',
        `${job.state}, ${job.report?.ramBytes} RAM bytes kept, runs on a`,
      );
    });

    test('F20 peer calls replayed or out of order are answered or refused, never a second commit', async ({
      onTestFinished,
    }) => {
      const p = await pair(onTestFinished);
      // QEMU's own events, on the one clock both agents share here: the real pause.
      const ms = (e: { timestamp: QmpTimestamp }) => timestampMs(e.timestamp);
      const stopped = p.a.services.supervisor.qmpOf(VM)!.waitEvent('STOP', undefined, { timeoutMs: 60_000 });
      let resumed: Promise<number> | undefined;
      const { job, watch } = await play(p, [
        {
          call: 'prepare',
          times: 1,
          fault: {
            kind: 'after',
            run: async () => {
              resumed = p.b.services.supervisor
                .qmpOf(VM)!
                .waitEvent('RESUME', undefined, { timeoutMs: 60_000 })
                .then(ms);
            },
          },
        },
      ]);
      expect(job.state).toBe('completed');
      // The pause runs from the source's STOP to the target's resume, placed on the source's clock.
      const report = job.report!;
      expect(report.notes.join('\n')).not.toMatch(/upper bound/);
      expect(report.pausedAt).toBe(ms(await stopped));
      expect(report.resumedAt! - report.pausedAt!).toBe(report.downtimeMs);
      const real = (await resumed!) - ms(await stopped);
      console.log(`pause: reported ${report.downtimeMs} ms, QEMU's STOP to RESUME ${real} ms`);
      expect(report.downtimeMs).toBeGreaterThan(0);
      const t = p.b.services.engine.target;
      // finish again: the same answer; abort after the commit: refused; a second prepare: refused.
      const v = p.a.services.jobStore.get(job.id).protocolVersion;
      await expect(p.link.finish(job.id, v)).resolves.toEqual({ handledMs: expect.any(Number) });
      await expect(p.link.abort(job.id, 'late', v)).resolves.toBeUndefined();
      expect(p.b.services.jobStore.get(job.id).state).toBe('completed');
      await expect(t.finish('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
        code: 'VMHOP_ERR_JOB_NOT_FOUND',
      });
      await expect(t.postcopy(job.id, 'commit')).resolves.toEqual({ status: 'committed' });
      await expect(t.postcopy(job.id, 'recover')).rejects.toMatchObject({ code: 'VMHOP_ERR_JOB_ENDED' });
      expect(await whereRuns(p.a, p.b, VM)).toBe('b');
      await endCase(
        watch,
        'F20',
        'finish, abort, post-copy commit and recover replayed after the end',
        'answered or refused, runs on b',
      );
    });
  });
}
