// The migration engine of one agent. As source it owns the job (libvirt's peer-to-peer
// model): begin (pre-flight, plan), then the mode's steps, then the report. As target it
// answers the peer (TargetSide). Jobs, progress and reports are kept for the API and UI.
import { randomUUID } from 'node:crypto';
import { VmhopError, isVmhopError } from '../../protocol/errors.js';
import {
  MigrateRequest,
  type JobInfo,
  type JobReport,
  type JobState,
  type PreflightCheck,
  type Progress,
} from '../../protocol/migration.js';
import type { MigrationInfo } from '../../qmp/index.js';
import type { JobRow } from '../db/job-store.js';
import type { MigrationContext } from './context.js';
import { TargetSide } from './incoming/target-side.js';
import type { ModeResult } from './modes/types.js';
import { modeRunners } from './modes/index.js';
import { planMigrationSettings } from './options.js';
import { preflight } from './preflight.js';
import { recoverJobs } from './recovery.js';
import { TLS_OBJECT_ID } from './qemu-settings.js';
import { progressOf, stalledForMs, type Sample } from './progress.js';

interface Running {
  abort: AbortController;
  samples: Sample[];
  progress?: Progress;
  startedAt: number;
  done: Promise<JobInfo>;
}

export class MigrationEngine {
  readonly target: TargetSide;
  private readonly running = new Map<string, Running>();

  constructor(private readonly c: MigrationContext) {
    this.target = new TargetSide(c);
  }

  /** Starts a migration; resolves once it runs (or with the pre-flight for a dry run). */
  async start(input: unknown): Promise<{ job?: JobInfo; preflight: PreflightCheck[] }> {
    const req = MigrateRequest.parse(input);
    const vm = this.c.vms.get(req.vm);
    const busy = this.c.jobs.runningFor(req.vm);
    if (busy) {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_IN_PROGRESS',
        `VM \`${req.vm}\` is already being migrated (job ${busy.id}, phase ${busy.phase})`,
        { job: busy.id },
      );
    }
    if (req.mode === 'live-shared' && req.options.copyStorage) req.mode = 'live-copy';
    const peer = this.c.peer(req.to);
    const plan = (hostname: string) =>
      planMigrationSettings(
        req.options,
        req.options.insecure ? {} : { tls: { credsId: TLS_OBJECT_ID, hostname } },
      );
    plan('-'); // refuses contradictory options before anything else
    const checks = await preflight(this.c, vm, peer, req.mode, req.options);
    const failed = checks.filter((k) => !k.ok);
    if (req.dryRun) return { preflight: checks };
    if (failed.length) {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_PREFLIGHT',
        `pre-flight failed, nothing was moved: ${failed.map((f) => `${f.name}: ${f.detail}${f.fix ? ` (fix: ${f.fix})` : ''}`).join('; ')}`,
        { checks },
      );
    }
    if (!modeRunners[req.mode]) {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_OPTIONS',
        `mode ${req.mode} is not available yet on this agent`,
        { mode: req.mode },
      );
    }
    const job = this.c.jobs.create({
      id: randomUUID(),
      vm: vm.name,
      mode: req.mode,
      role: 'source',
      peer: req.to,
      phase: 'begin',
      options: req.options,
    });
    this.c.jobs.setPreflight(job.id, checks);
    const settings = plan((await peer.hostInfo()).migrationAddress);
    const run: Running = {
      abort: new AbortController(),
      samples: [],
      startedAt: Date.now(),
      done: Promise.resolve(undefined as never),
    };
    this.running.set(job.id, run);
    run.done = this.perform(job, vm.name, settings, run);
    run.done.catch(() => undefined);
    return { job: this.info(job.id), preflight: checks };
  }

  private async perform(
    job: JobRow,
    vmName: string,
    settings: ReturnType<typeof planMigrationSettings>,
    run: Running,
  ): Promise<JobInfo> {
    const vm = this.c.vms.get(vmName);
    const peer = this.c.peer(job.peer);
    let state: Exclude<JobState, 'running'> = 'completed';
    let error: JobReport['error'];
    let result: ModeResult | undefined;
    try {
      const runner = modeRunners[job.mode];
      if (!runner)
        throw new VmhopError('VMHOP_ERR_MIGRATION_OPTIONS', `mode ${job.mode} is not available`, {});
      result = await runner({
        c: this.c,
        job,
        vm,
        peer,
        settings,
        signal: run.abort.signal,
        onSample: (info, at, stage) => this.sample(job, run, info, at, stage),
        onProgress: (p) => this.publishProgress(job, run, p),
      });
    } catch (e) {
      const err = isVmhopError(e)
        ? e
        : new VmhopError('VMHOP_ERR_MIGRATION_FAILED', (e as Error).message, {}, e);
      state =
        err.code === 'VMHOP_ERR_MIGRATION_CANCELLED'
          ? 'cancelled'
          : err.code === 'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN'
            ? 'needs-operator'
            : 'failed';
      error = { code: err.code, message: err.message };
    }
    const report: JobReport = {
      result: state,
      totalMs: Date.now() - run.startedAt,
      encrypted: !job.options.insecure,
      options: job.options,
      notes: [
        ...(result?.notes ?? []),
        ...(job.options.insecure ? ['RAM was sent in plaintext (--insecure)'] : []),
        ...settings.notes,
      ],
      ...(result ? definedFigures(result) : {}),
      ...(error ? { error } : {}),
    };
    this.c.jobs.end(job.id, state, report);
    this.c.events.publish({ type: 'job.ended', job: job.id, vm: vmName, state });
    this.running.delete(job.id);
    return this.info(job.id);
  }

  private sample(job: JobRow, run: Running, info: MigrationInfo, at: number, stage: 'ram' | 'switchover') {
    run.samples.push({ at, info });
    if (run.samples.length > 240) run.samples.shift();
    const phase = this.c.jobs.get(job.id).phase;
    run.progress = progressOf(run.samples, {
      phase,
      ...(stage === 'switchover' ? { stage } : {}),
      startedAt: run.startedAt,
      stalledMs: stalledForMs(run.samples),
      options: job.options,
    });
    this.c.events.publish({
      type: 'job.progress',
      job: job.id,
      vm: job.vm,
      data: run.progress as unknown as Record<string, unknown>,
    });
  }

  /** Progress of a stage that query-migrate does not describe (disk copies, offline volumes). */
  private publishProgress(job: JobRow, run: Running, p: Partial<Progress>) {
    const base: Progress = run.progress ?? {
      phase: this.c.jobs.get(job.id).phase,
      stage: 'setup',
      ramTotalBytes: 0,
      ramTransferredBytes: 0,
      ramRemainingBytes: 0,
      rateBps: 0,
      dirtyRateBps: 0,
      pass: 0,
      etaS: null,
      etaReason: '',
      disks: [],
      elapsedMs: 0,
    };
    run.progress = { ...base, ...p, elapsedMs: Date.now() - run.startedAt };
    this.c.events.publish({
      type: 'job.progress',
      job: job.id,
      vm: job.vm,
      data: run.progress as unknown as Record<string, unknown>,
    });
  }

  /** Finishes or rolls back the jobs a previous agent process left running. */
  recover(): Promise<void> {
    return recoverJobs(this.c, this.target);
  }

  /** Waits for a job this engine runs to end. */
  async wait(jobId: string): Promise<JobInfo> {
    const run = this.running.get(jobId);
    return run ? run.done : this.info(jobId);
  }

  abort(jobId: string): JobInfo {
    const job = this.c.jobs.get(jobId);
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

  abortVm(vm: string): JobInfo {
    const job = this.c.jobs.runningFor(vm);
    if (!job)
      throw new VmhopError('VMHOP_ERR_JOB_NOT_FOUND', `no migration of \`${vm}\` is running here`, { vm });
    return this.abort(job.id);
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

/** The report's figures from a mode's result, leaving out what the mode could not know. */
function definedFigures(r: ModeResult): Partial<JobReport> {
  const { notes: _n, ...figures } = r;
  return Object.fromEntries(Object.entries(figures).filter(([, v]) => v !== undefined)) as Partial<JobReport>;
}
