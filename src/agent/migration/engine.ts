// The migration engine of one agent, and its job API. As source it owns the job (libvirt's
// peer-to-peer model): admission.ts admits it (pre-flight, plan), running-job.ts runs the mode's
// steps and writes the report; here the jobs are launched, followed, cancelled, switched to
// post-copy, resolved and listed. As target it answers the peer (TargetSide).
import { VmhopError } from '../../protocol/errors.js';
import type { JobSpeed } from '../../protocol/job-speed.js';
import type { JobInfo, PreflightCheck } from '../../protocol/migration.js';
import type { Prediction } from '../../protocol/prediction.js';
import type { JobRow } from '../db/job-store.js';
import { admitContinuation, admitMigration, admitVolumeCopy, type Admitted } from './admission.js';
import type { MigrationContext } from './context.js';
import { TargetSide } from './incoming/target-side.js';
import { undoOffline } from './modes/offline.js';
import { recoverJobs } from './recovery.js';
import { getSpeed, setMaxDowntime, setSpeed } from './job-speed.js';
import { runJob, type Running } from './running-job.js';
import { settleOnce, UnresolvedFollower, type Runs } from './unresolved.js';

export class MigrationEngine {
  readonly target: TargetSide;
  private readonly running = new Map<string, Running>();
  /** The row each running job was launched with: its report reads these options at the end. */
  private readonly launched = new Map<string, JobRow>();

  /** Asks the target about switchovers of unknown outcome until it says who owns the VM. */
  private readonly follower: UnresolvedFollower;

  constructor(private readonly c: MigrationContext) {
    this.target = new TargetSide(c);
    this.follower = new UnresolvedFollower(c, { windowMs: c.config.unresolvedFollowHours * 3_600_000 });
  }

  /**
   * `vmhop job resolve`: settles a switchover of unknown outcome now, with the operator's word
   * on who runs the VM; the target is asked first and must agree (`force` only when it cannot be asked).
   */
  async resolve(jobId: string, runs: Runs, force = false): Promise<JobInfo> {
    const job = this.c.jobs.get(jobId);
    if (job.role !== 'source' || job.state !== 'needs-operator') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `job \`${jobId}\` is ${job.state} (${job.role}): only a source job whose outcome is unknown (needs-operator) is resolved`,
        { job: jobId, state: job.state },
      );
    }
    const settled = await settleOnce(this.c, job, { runs, force });
    this.c.jobs.journal(jobId, `resolved by the operator: ${settled.note}`);
    return this.info(jobId);
  }

  /** Stops the follow-up timers (agent shutdown, tests). */
  close(): void {
    this.follower.close();
    this.target.close();
  }

  /** Starts a migration; resolves once it runs (or with the pre-flight for a dry run). */
  async start(
    input: unknown,
  ): Promise<{ job?: JobInfo; preflight: PreflightCheck[]; prediction?: Prediction }> {
    // Cut off from etcd, a host starts nothing new; a dry run only reads, so it may still plan.
    if (!(input as { dryRun?: unknown } | null)?.dryRun) this.c.cluster?.assertInTouch('start a migration');
    const a = await admitMigration(this.c, input);
    if ('dryRun' in a)
      return { preflight: a.preflight, ...(a.prediction ? { prediction: a.prediction } : {}) };
    if ('continueJob' in a) return { job: await this.resume(a.continueJob), preflight: a.preflight };
    return { job: this.launch(a), preflight: a.preflight };
  }

  /** `vol-copy`: one volume copied like an offline migration's disk, as a job named POOL/VOLUME. */
  async copyVolume(input: {
    pool: string;
    volume: string;
    to: string;
    targetPool?: string;
  }): Promise<JobInfo> {
    const a = await admitVolumeCopy(this.c, input);
    return 'continueJob' in a ? this.resume(a.continueJob) : this.launch(a);
  }

  /** Continues an interrupted offline copy under the same job id; the target says what it has. */
  async resume(jobId: string): Promise<JobInfo> {
    return this.launch(admitContinuation(this.c, jobId));
  }

  private launch({ job, settings, prediction }: Admitted): JobInfo {
    const run: Running = {
      abort: new AbortController(),
      samples: [],
      startedAt: Date.now(),
      done: Promise.resolve(undefined as never),
      postcopyRequested: false,
      ...(prediction ? { prediction } : {}),
    };
    this.running.set(job.id, run);
    this.launched.set(job.id, job);
    run.done = runJob(this.c, job, settings, run).then((state) => {
      this.running.delete(job.id);
      this.launched.delete(job.id);
      if (state === 'needs-operator') this.follower.follow(job.id);
      return this.info(job.id);
    });
    run.done.catch(() => undefined);
    return this.info(job.id);
  }

  /** Finishes or rolls back the jobs a previous agent process left running. */
  async recover(): Promise<void> {
    await recoverJobs(this.c, this.target);
    this.follower.followAll();
  }

  /** Waits for a job this engine runs to end. */
  async wait(jobId: string): Promise<JobInfo> {
    const run = this.running.get(jobId);
    return run ? run.done : this.info(jobId);
  }

  abort(jobId: string): JobInfo {
    const job = this.c.jobs.get(jobId);
    if (job.state === 'interrupted' && job.role === 'source') return this.abortInterrupted(job);
    const run = this.running.get(jobId);
    if (!run || job.state !== 'running') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `job \`${jobId}\` is not running here (state ${job.state})`,
        { job: jobId },
      );
    }
    if (job.phase === 'finish' || job.phase === 'confirm') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `job \`${jobId}\` is past the switchover (phase ${job.phase}): it can no longer be cancelled`,
        { job: jobId },
      );
    }
    run.abort.abort('cancelled by the user');
    return this.info(jobId);
  }

  /** Cancels an interrupted offline copy: the target drops its partial files, the source runs as before. */
  private abortInterrupted(job: JobRow): JobInfo {
    this.c.jobs.end(job.id, 'cancelled', {
      ...(job.report ?? { totalMs: 0, encrypted: true, options: job.options, notes: [] }),
      result: 'cancelled',
    });
    const saved = job.options.keepState;
    void undoOffline(this.c, job, saved, 'cancelled by the user').then(() =>
      this.c.events.publish({ type: 'job.ended', job: job.id, vm: job.vm, state: 'cancelled' }),
    );
    return this.info(job.id);
  }

  /** virsh migrate-postcopy: switch a running --postcopy migration to post-copy now. */
  startPostcopy(jobId: string): JobInfo {
    const job = this.c.jobs.get(jobId);
    const run = this.running.get(jobId);
    if (job.role !== 'source') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `job \`${jobId}\` is the incoming side on this host: ask its source, \`vmhop -c ${job.peer} migrate-postcopy ${job.vm}\``,
        { job: jobId },
      );
    }
    if (!run || job.state !== 'running') {
      throw new VmhopError('VMHOP_ERR_VM_STATE', `job \`${jobId}\` is not running (state ${job.state})`, {
        job: jobId,
      });
    }
    if (!job.options.postcopy) {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_OPTIONS',
        `job \`${jobId}\` was started without --postcopy: QEMU can switch to post-copy only when it was enabled before the migration started; cancel it and migrate again with --postcopy`,
        { job: jobId },
      );
    }
    if (job.phase !== 'perform') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `job \`${jobId}\` is in phase ${job.phase}: post-copy can start only while RAM is being copied`,
        { job: jobId },
      );
    }
    run.postcopyRequested = true;
    this.c.jobs.journal(jobId, 'switch to post-copy asked for');
    return this.info(jobId);
  }

  /** virsh migrate-setspeed (MiB/s, 0 = no cap), migrate-setmaxdowntime (ms) and migrate-getspeed. */
  setSpeed(jobId: string, mibPerS: number): Promise<JobSpeed> {
    return setSpeed(this.c, this.liveRow(jobId), this.running.has(jobId), mibPerS);
  }

  setMaxDowntime(jobId: string, ms: number): Promise<JobSpeed> {
    return setMaxDowntime(this.c, this.liveRow(jobId), this.running.has(jobId), ms);
  }

  getSpeed(jobId: string): Promise<JobSpeed> {
    return getSpeed(this.c, this.liveRow(jobId), this.running.has(jobId));
  }

  /** The stored row, with the options object the running job holds, so a change reaches its report. */
  private liveRow(jobId: string): JobRow {
    const job = this.c.jobs.get(jobId);
    const options = this.launched.get(jobId)?.options;
    return options ? { ...job, options } : job;
  }

  /** By VM name, as virsh: on the target this finds the incoming job, whose refusal names the source. */
  setSpeedVm(vm: string, mibPerS: number): Promise<JobSpeed> {
    return this.setSpeed(this.runningJobOf(vm), mibPerS);
  }

  setMaxDowntimeVm(vm: string, ms: number): Promise<JobSpeed> {
    return this.setMaxDowntime(this.runningJobOf(vm), ms);
  }

  getSpeedVm(vm: string): Promise<JobSpeed> {
    return this.getSpeed(this.runningJobOf(vm));
  }

  startPostcopyVm(vm: string): JobInfo {
    return this.startPostcopy(this.runningJobOf(vm));
  }

  abortVm(vm: string): JobInfo {
    return this.abort(this.runningJobOf(vm));
  }

  private runningJobOf(vm: string): string {
    const job = this.c.jobs.runningFor(vm);
    if (!job)
      throw new VmhopError('VMHOP_ERR_JOB_NOT_FOUND', `no migration of \`${vm}\` is running here`, { vm });
    return job.id;
  }

  info(jobId: string): JobInfo {
    const { options: _o, ...job } = this.c.jobs.get(jobId);
    const p = this.running.get(jobId)?.progress;
    return { ...job, ...(p ? { progress: p } : {}) };
  }

  list(): JobInfo[] {
    return this.c.jobs.list().map((j) => this.info(j.id));
  }

  currentFor(vm: string): JobInfo | undefined {
    const j = this.c.jobs.runningFor(vm) ?? this.c.jobs.list().find((x) => x.vm === vm);
    return j && this.info(j.id);
  }
}
