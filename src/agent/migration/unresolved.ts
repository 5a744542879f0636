// Source, after a switchover whose outcome nobody knew (`needs-operator`): the source QEMU
// stays paused, and only the target's registry can say who owns the VM. This module asks
// it until it answers (back-off, for `unresolvedFollowHours`), and follows its record: the
// target committed (its job reached phase finish) → retire the source; it did not, and has
// given up or agrees to give up (its abort is refused once it committed, and serialized
// with a late commit) → resume the source. Nothing is guessed. `vmhop job resolve` runs the
// same step with the operator's word, which only decides when the target cannot be asked
// (`--force`); and a VM with an unresolved job cannot be started, resumed or restored here.
import { isVmhopError, VmhopError } from '../../protocol/errors.js';
import { queryMigrate } from '../../qmp/index.js';
import type { JobRow } from '../db/job-store.js';
import type { MigrationContext } from './context.js';
import { cancelAndResume } from './outgoing/rollback.js';
import { retireSource } from './outgoing/retire-source.js';

export type Runs = 'source' | 'target';

export interface Settled {
  /** Who runs the VM now; undefined when the target could not be asked (still unresolved). */
  runs?: Runs;
  note: string;
}

/** Back-off between two questions to the target: `firstMs` (5 s), doubling, at most 5 min. */
export function nextDelayMs(previousMs: number | undefined, firstMs = 5_000): number {
  return previousMs === undefined ? firstMs : Math.min(previousMs * 2, 300_000);
}

/** The source job of `vm` whose outcome is unknown, if its latest job is one. */
export function unresolvedJobOf(c: Pick<MigrationContext, 'jobs'>, vm: string): JobRow | undefined {
  const last = c.jobs.latestFor(vm);
  return last?.role === 'source' && last.state === 'needs-operator' ? last : undefined;
}

export function unresolvedRefusal(job: JobRow, action: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_MIGRATION_UNRESOLVED',
    `cannot ${action} VM \`${job.vm}\`: its migration to \`${job.peer}\` (job ${job.id}) has an unknown outcome and \`${job.peer}\` may run it; this agent keeps asking \`${job.peer}\` and follows its answer. To decide now: \`vmhop job resolve ${job.id} --source-runs\` or \`--target-runs\` (checked with \`${job.peer}\` first)`,
    { vm: job.vm, job: job.id, peer: job.peer },
  );
}

/**
 * The refusal of a power-off of a VM whose outgoing migration is at its commit or in post-copy:
 * its QEMU holds what the target still needs (the paused state, or the pages not yet fetched).
 */
export function switchoverRefusal(job: JobRow, action: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_VM_STATE',
    `cannot ${action} VM \`${job.vm}\`: it is the source of migration job ${job.id} to \`${job.peer}\`, past its switchover, and its QEMU holds what \`${job.peer}\` still needs (with post-copy, the pages the guest there has not fetched); powering it off now can leave the VM nowhere. Wait for the job (\`vmhop job show ${job.id}\`), or override with \`vmhop ${action} ${job.vm} --force\``,
    { vm: job.vm, job: job.id, peer: job.peer, phase: job.phase },
  );
}

function ended(c: MigrationContext, job: JobRow, runs: Runs, note: string): Settled {
  const state = runs === 'target' ? 'completed' : 'failed';
  c.jobs.end(job.id, state, {
    ...(job.report ?? { result: state, totalMs: 0, encrypted: !job.options.insecure, options: job.options }),
    result: state,
    notes: [...(job.report?.notes ?? []), note],
    ...(runs === 'target'
      ? { error: undefined }
      : { error: { code: 'VMHOP_ERR_MIGRATION_FAILED', message: note } }),
  });
  c.events.publish({ type: 'job.ended', job: job.id, vm: job.vm, state });
  return { runs, note };
}

async function sourceRuns(c: MigrationContext, job: JobRow, note: string): Promise<Settled> {
  const qmp = c.supervisor.qmpOf(job.vm);
  if (qmp) await cancelAndResume(qmp, job.guestWasRunning);
  return ended(
    c,
    job,
    'source',
    `${note}; the VM ${job.guestWasRunning ? 'runs' : 'is paused, as it was before the migration,'} on the source again`,
  );
}

async function targetRuns(c: MigrationContext, job: JobRow, note: string): Promise<Settled> {
  await retireSource(c, job.vm, job.peer, job.options.keepSource);
  return ended(c, job, 'target', `${note}; the source copy was retired`);
}

/**
 * One attempt to settle `job` (a source job in needs-operator). `choice` is the operator's
 * (`vmhop job resolve`): it must agree with what the target says, and decides alone only with
 * `force` when the target cannot be asked.
 */
export async function settleOnce(
  c: MigrationContext,
  job: JobRow,
  choice?: { runs: Runs; force?: boolean },
): Promise<Settled> {
  const qmp = c.supervisor.qmpOf(job.vm);
  const mig = qmp ? (await queryMigrate(qmp).catch(() => undefined))?.status : undefined;
  if (mig?.startsWith('postcopy')) {
    throw new VmhopError(
      'VMHOP_ERR_VM_STATE',
      `job ${job.id} stopped in post-copy (${mig}): the guest runs on \`${job.peer}\` and needs pages only this source has; restore the link and the agent follows it again`,
      { job: job.id, status: mig },
    );
  }
  const peer = c.peer(job.peer);
  let remote;
  try {
    remote = await peer.job(job.id);
  } catch (e) {
    if (isVmhopError(e) && e.code === 'VMHOP_ERR_JOB_NOT_FOUND') {
      // The commit record lives in the target's registry: no job there, no commit.
      return sourceRuns(c, job, `\`${job.peer}\` has no record of job ${job.id}, so it never committed`);
    }
    if (choice?.force) {
      const why = `the operator decided the ${choice.runs} runs it (--force) while \`${job.peer}\` could not be asked: ${(e as Error).message}`;
      return choice.runs === 'source' ? sourceRuns(c, job, why) : targetRuns(c, job, why);
    }
    if (choice) {
      throw new VmhopError(
        'VMHOP_ERR_HOST_UNREACHABLE',
        `cannot ask \`${job.peer}\` whether it committed job ${job.id} (${(e as Error).message}): vmhop checks the other side before it lets one run. If you know \`${job.peer}\` does not run \`${job.vm}\` (host down, QEMU gone), add --force`,
        { job: job.id, peer: job.peer },
      );
    }
    return { note: `\`${job.peer}\` cannot be asked: ${(e as Error).message}` };
  }
  const committed = remote.phase === 'finish' || remote.phase === 'confirm';
  if (committed) {
    if (choice?.runs === 'source') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `\`${job.peer}\` committed job ${job.id}: it owns \`${job.vm}\` (its job is ${remote.state}); the source cannot run it too. Use --target-runs`,
        { job: job.id, peer: job.peer },
      );
    }
    return targetRuns(c, job, `\`${job.peer}\` had committed (its job is ${remote.state})`);
  }
  if (remote.state === 'running') {
    // Not committed yet: have it give up; its abort and a late commit cannot both happen.
    try {
      await peer.abort(
        job.id,
        'the source settles an unresolved switchover: the source runs the VM',
        job.protocolVersion,
      );
    } catch (e) {
      return {
        note: `\`${job.peer}\` did not give up job ${job.id} (${(e as Error).message}); asking again`,
      };
    }
  }
  if (choice?.runs === 'target') {
    throw new VmhopError(
      'VMHOP_ERR_VM_STATE',
      `\`${job.peer}\` never committed job ${job.id} (its job is ${remote.state === 'running' ? 'aborted now' : remote.state}): its copy is incomplete, so the source runs it. Use --source-runs`,
      { job: job.id, peer: job.peer },
    );
  }
  return sourceRuns(
    c,
    job,
    `\`${job.peer}\` never committed (${remote.state === 'running' ? 'it gave up when asked' : `its job ${remote.state}`})`,
  );
}

/**
 * Asks the target about each unresolved job until it answers or the follow window (from the
 * job's last update) ends. One timer per job; close() stops them all.
 */
export class UnresolvedFollower {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  /** `windowMs`: how long after the job stopped the target is asked; `firstDelayMs`: the first wait. */
  constructor(
    private readonly c: MigrationContext,
    private readonly opts: { windowMs: number; firstDelayMs?: number },
  ) {}

  /** Follows every unresolved source job of the registry (at agent start). */
  followAll(): void {
    for (const j of this.c.jobs.list(1_000)) {
      if (j.role === 'source' && j.state === 'needs-operator') this.follow(j.id);
    }
  }

  follow(jobId: string, delayMs?: number): void {
    if (this.closed || this.timers.has(jobId)) return;
    const job = this.c.jobs.find(jobId);
    if (!job || job.role !== 'source' || job.state !== 'needs-operator') return;
    if (Date.now() - Date.parse(job.updatedAt) > this.opts.windowMs && delayMs !== undefined) {
      this.c.jobs.journal(
        jobId,
        `stopped asking \`${job.peer}\` after ${Math.round(this.opts.windowMs / 3_600_000)} h; \`vmhop job resolve ${jobId}\` decides`,
      );
      return;
    }
    const wait = nextDelayMs(delayMs, this.opts.firstDelayMs);
    const t = setTimeout(() => {
      this.timers.delete(jobId);
      this.step(jobId, wait).catch((err: unknown) =>
        this.c.log.error({ job: jobId, err }, 'following an unresolved job failed'),
      );
    }, wait);
    t.unref();
    this.timers.set(jobId, t);
  }

  private async step(jobId: string, waited: number): Promise<void> {
    if (this.closed) return;
    const job = this.c.jobs.find(jobId);
    if (!job || job.state !== 'needs-operator') return;
    let again = true;
    try {
      const r = await settleOnce(this.c, job);
      if (this.closed) return; // the agent stopped meanwhile: its registry may be closed
      this.c.jobs.journal(jobId, `asked \`${job.peer}\`: ${r.note}`);
      again = r.runs === undefined;
    } catch (e) {
      if (this.closed) return;
      this.c.jobs.journal(jobId, `settling failed: ${(e as Error).message}`);
      again = !(isVmhopError(e) && e.code === 'VMHOP_ERR_VM_STATE');
    }
    if (again) this.follow(jobId, waited);
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
