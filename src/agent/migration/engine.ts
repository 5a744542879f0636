// The migration engine of one agent. As source it owns the job (libvirt's peer-to-peer
// model): begin (pre-flight, plan), then the mode's steps, then the report. As target it
// answers the peer (TargetSide). Jobs, progress and reports are kept for the API and UI.
import { randomUUID } from 'node:crypto';
import { VmhopError } from '../../protocol/errors.js';
import {
  endOfErrorCode,
  MigrateRequest,
  MigrationOptions,
  type JobInfo,
  type JobReport,
  type JobState,
  type PreflightCheck,
  type Progress,
} from '../../protocol/migration.js';
import type { JobRow } from '../db/job-store.js';
import { causeOfFailure } from './failure-cause.js';
import { publishProgress, recordSample, type Running } from './running-job.js';
import { ramFigures } from './modes/live-common.js';
import type { MigrationContext } from './context.js';
import { TargetSide } from './incoming/target-side.js';
import type { ModeResult } from './modes/types.js';
import { modeRunners } from './modes/index.js';
import { undoOffline } from './modes/offline.js';
import { runVolumeCopy, volumeOfJob } from './modes/volume-copy.js';
import { planMigrationSettings } from './options.js';
import { preflight } from './preflight.js';
import { qemuSides } from './preflight-qemu.js';
import type { QemuSides } from './qemu-rules.js';
import { recoverJobs } from './recovery.js';
import { settleOnce, UnresolvedFollower, type Runs } from './unresolved.js';
import { TLS_OBJECT_ID } from './qemu-settings.js';

export class MigrationEngine {
  readonly target: TargetSide;
  private readonly running = new Map<string, Running>();

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
  async start(input: unknown): Promise<{ job?: JobInfo; preflight: PreflightCheck[] }> {
    const req = MigrateRequest.parse(input);
    if (req.mode === 'live-shared' && req.options.copyStorage) req.mode = 'live-copy';
    refusePostcopyOutsideLiveShared(req.mode, req.options);
    const vm = this.c.vms.get(req.vm);
    const busy = this.c.jobs.runningFor(req.vm);
    if (busy) {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_IN_PROGRESS',
        `VM \`${req.vm}\` is already being migrated (job ${busy.id}, phase ${busy.phase})`,
        { job: busy.id },
      );
    }
    const peer = this.c.peer(req.to);
    const paused = this.c.jobs
      .list()
      .find((j) => j.vm === req.vm && j.role === 'source' && j.state === 'interrupted');
    if (paused && req.mode === 'offline' && !req.dryRun) {
      // An interrupted copy continues where it stopped instead of starting over.
      if (paused.peer !== req.to) {
        throw new VmhopError(
          'VMHOP_ERR_MIGRATION_IN_PROGRESS',
          `an interrupted copy of \`${req.vm}\` to \`${paused.peer}\` exists (job ${paused.id}): resume it, or cancel it with \`vmhop job abort ${paused.id}\``,
          { job: paused.id },
        );
      }
      return { job: await this.resume(paused.id), preflight: paused.preflight ?? [] };
    }
    const plan = (hostname: string, qemu?: QemuSides) =>
      planMigrationSettings(req.options, {
        ...(req.options.insecure ? {} : { tls: { credsId: TLS_OBJECT_ID, hostname } }),
        ...(qemu ? { qemu } : {}),
      });
    plan('-'); // refuses contradictory options before anything else; the QEMU rules need the target
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
      guestWasRunning: vm.state === 'running',
    });
    this.c.jobs.setPreflight(job.id, checks);
    const target = await peer.hostInfo();
    const settings = plan(
      target.migrationAddress,
      req.mode === 'offline' ? undefined : await qemuSides(this.c, target),
    );
    return { job: this.launch(job, settings), preflight: checks };
  }

  /** `vol-copy`: one volume copied like an offline migration's disk, as a job named POOL/VOLUME. */
  async copyVolume(input: {
    pool: string;
    volume: string;
    to: string;
    targetPool?: string;
  }): Promise<JobInfo> {
    const key = `${input.pool}/${input.volume}`;
    await this.c.storage.volumeInfo(input.pool, input.volume); // a missing volume names the ones there are
    const user = this.c.vmStore
      .list()
      .find(
        (v) =>
          v.state !== 'shutoff' &&
          v.spec.disks.some((d) => d.pool === input.pool && d.volume === input.volume),
      );
    if (user) {
      // A file a running guest writes to would arrive torn: copy it offline, or migrate the VM.
      throw new VmhopError(
        'VMHOP_ERR_VOLUME_IN_USE',
        `volume \`${key}\` is a disk of \`${user.name}\`, which is ${user.state}: shut it down first, or migrate the VM`,
        { pool: input.pool, volume: input.volume, vm: user.name },
      );
    }
    const busy = this.c.jobs.runningFor(key);
    if (busy)
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_IN_PROGRESS',
        `volume \`${key}\` is being copied (job ${busy.id})`,
        { job: busy.id },
      );
    const paused = this.c.jobs
      .list()
      .find((j) => j.vm === key && j.role === 'source' && j.state === 'interrupted');
    if (paused && paused.peer === input.to) return this.resume(paused.id);
    const options = MigrationOptions.parse(input.targetPool ? { targetPool: input.targetPool } : {});
    this.c.peer(input.to); // an unknown peer is refused before a job exists
    const settings = planMigrationSettings(options, { tls: { credsId: TLS_OBJECT_ID, hostname: '-' } });
    const job = this.c.jobs.create({
      id: randomUUID(),
      vm: key,
      mode: 'offline',
      role: 'source',
      peer: input.to,
      phase: 'begin',
      options,
    });
    return this.launch(job, settings);
  }

  /** Continues an interrupted offline copy under the same job id; the target says what it has. */
  async resume(jobId: string): Promise<JobInfo> {
    const job = this.c.jobs.get(jobId);
    if (job.role !== 'source' || job.state !== 'interrupted') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `job \`${jobId}\` is ${job.state} (${job.role}): only an interrupted offline copy on its source can be resumed`,
        { job: jobId },
      );
    }
    // Offline copies use no QEMU migration settings; planned only to keep one launch path.
    const settings = planMigrationSettings(job.options, { tls: { credsId: TLS_OBJECT_ID, hostname: '-' } });
    this.c.jobs.reopen(jobId, 'continuing the copy where it stopped');
    return this.launch(this.c.jobs.get(jobId), settings);
  }

  private launch(job: JobRow, settings: ReturnType<typeof planMigrationSettings>): JobInfo {
    const run: Running = {
      abort: new AbortController(),
      samples: [],
      startedAt: Date.now(),
      done: Promise.resolve(undefined as never),
      postcopyRequested: false,
    };
    this.running.set(job.id, run);
    run.done = this.perform(job, job.vm, settings, run);
    run.done.catch(() => undefined);
    return this.info(job.id);
  }

  private async perform(
    job: JobRow,
    vmName: string,
    settings: ReturnType<typeof planMigrationSettings>,
    run: Running,
  ): Promise<JobInfo> {
    const peer = this.c.peer(job.peer);
    let state: Exclude<JobState, 'running'> = 'completed';
    let error: JobReport['error'];
    let result: ModeResult | undefined;
    try {
      const runner = modeRunners[job.mode];
      if (!runner)
        throw new VmhopError('VMHOP_ERR_MIGRATION_OPTIONS', `mode ${job.mode} is not available`, {});
      const onProgress = (p: Partial<Progress>) => publishProgress(this.c, job, run, p);
      result = volumeOfJob(job.vm)
        ? await runVolumeCopy({ c: this.c, job, peer, signal: run.abort.signal, onProgress })
        : await runner({
            c: this.c,
            job,
            vm: this.c.vms.get(vmName),
            peer,
            settings,
            signal: run.abort.signal,
            onSample: (info, at, stage) => recordSample(this.c, job, run, info, at, stage),
            onProgress: (p) => publishProgress(this.c, job, run, p),
            postcopyRequested: () => run.postcopyRequested,
          });
    } catch (e) {
      const err = await causeOfFailure(this.c, job, vmName, peer, e);
      state = endOfErrorCode(err.code);
      error = { code: err.code, message: err.message };
    }
    const throttle = Math.max(0, ...run.samples.map((s) => s.info['cpu-throttle-percentage'] ?? 0));
    const report: JobReport = {
      result: state,
      totalMs: Date.now() - run.startedAt,
      encrypted: !job.options.insecure,
      options: job.options,
      notes: [
        ...(result?.notes ?? []),
        ...(throttle
          ? [
              `auto-converge slowed the guest's vCPUs by up to ${throttle}% during the RAM copy: the guest was held back longer than the downtime says`,
            ]
          : []),
        ...(job.options.insecure ? ['RAM was sent in plaintext (--insecure)'] : []),
        ...settings.notes,
      ],
      ...(settings.warnings.length ? { warnings: settings.warnings } : {}),
      // A job that ended early keeps what crossed until then.
      ...(result
        ? definedFigures(result)
        : run.samples.length
          ? definedFigures({ notes: [], ...ramFigures(run.samples.at(-1)?.info) })
          : {}),
      ...(error ? { error } : {}),
    };
    this.c.jobs.end(job.id, state, report);
    this.c.events.publish({ type: 'job.ended', job: job.id, vm: vmName, state });
    this.running.delete(job.id);
    if (state === 'needs-operator') this.follower.follow(job.id);
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

/** The report's figures from a mode's result, leaving out what the mode could not know. */
function definedFigures(r: ModeResult): Partial<JobReport> {
  const { notes: _n, ...figures } = r;
  return Object.fromEntries(Object.entries(figures).filter(([, v]) => v !== undefined)) as Partial<JobReport>;
}

/**
 * Post-copy is driven for live migrations over shared storage. With a disk copy the disks would
 * have to follow the guest's writes after it resumed on the target, which the mirrors cannot do
 * once they are ended at the switchover; offline migrations have no RAM to post-copy.
 */
function refusePostcopyOutsideLiveShared(mode: MigrateRequest['mode'], o: MigrationOptions): void {
  if (mode === 'live-shared') return;
  const asked = [
    ...(o.postcopy ? ['--postcopy'] : []),
    ...(o.postcopyAfterPrecopy ? ['--postcopy-after-precopy'] : []),
    ...(o.timeoutAction === 'postcopy' ? ['--timeout-action postcopy'] : []),
  ];
  if (asked.length) {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_OPTIONS',
      `${asked.join(', ')}: post-copy is available only for live migrations over shared storage, not for ${mode === 'live-copy' ? 'a live migration that copies the disks (--copy-storage)' : 'an offline migration'}; drop the option, or use --auto-converge, --bandwidth or --timeout-action suspend`,
      { options: asked, mode },
    );
  }
}
