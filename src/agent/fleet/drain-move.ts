// One VM's move within a drain (fleet/drain-runner.ts): journaled as moving before its migration
// starts, started through the engine as `POST /v1/migrations` starts one, followed to its end and
// its outcome journaled; after a restart, a move left moving is followed or queued again; cancel
// goes through the migration's own abort. The VM's figures come from its job (drain-report.ts).
import type { z } from 'zod';
import type { DrainVm } from '../../protocol/drain.js';
import { VmhopError } from '../../protocol/errors.js';
import type { JobInfo, MigrateRequest } from '../../protocol/migration.js';
import type { DrainRow, DrainStore } from '../db/drain-store.js';
import { pollUntil } from '../poll-until.js';
import type { AgentServices } from '../services.js';
import { bandwidthShareMiBs } from './drain-order.js';
import { outcomeOf } from './drain-report.js';

/** A job left running by a previous process is followed in the registry this often, this long. */
const FOLLOW_INTERVAL_MS = 1_000;
const FOLLOW_DEADLINE_MS = 24 * 3_600_000;

export class DrainMoves {
  constructor(
    private readonly s: AgentServices,
    private readonly store: DrainStore,
  ) {}

  /** One VM's move: journaled as moving before its migration starts, then followed to its end. */
  async move(id: string, v: DrainVm): Promise<void> {
    const moving: DrainVm = { ...v, state: 'moving', startedAt: new Date().toISOString() };
    this.store.updateVm(id, moving, `moving to ${v.to} (${v.mode})`);
    let job: JobInfo;
    try {
      const started = await this.s.engine.start(requestOf(v, this.store.get(id)));
      if (!started.job) throw new Error('the engine started no job');
      job = started.job;
    } catch (e) {
      const err = e instanceof VmhopError ? e : undefined;
      const error = { code: err?.code ?? 'VMHOP_ERR_INTERNAL', message: (e as Error).message };
      this.store.updateVm(
        id,
        { ...moving, state: 'failed', endedAt: new Date().toISOString(), error },
        `not started: ${error.message}`,
      );
      return;
    }
    const withJob = { ...moving, job: job.id };
    this.store.updateVm(id, withJob, `migration job ${job.id} started`);
    // A cancel that came while the move was being admitted.
    if (this.store.get(id).cancelRequested) this.abort(id, withJob);
    await this.follow(id, withJob);
  }

  /**
   * A move a previous process left `moving`: with a job, that job's end (the engine's recovery
   * has finished or rolled it back by now); without one, nothing had started: queued again.
   */
  async adopt(id: string, v: DrainVm): Promise<void> {
    if (v.job) return this.follow(id, v);
    const { state: _state, startedAt: _startedAt, ...rest } = v;
    this.store.updateVm(
      id,
      { ...rest, state: 'queued' },
      'queued again: the agent stopped before its migration started',
    );
  }

  private async follow(id: string, v: DrainVm & { job?: string }): Promise<void> {
    const jobId = v.job!;
    let info = await this.s.engine.wait(jobId);
    // Not run by this process (left running by a previous one): read its end from the registry.
    if (info.state === 'running') {
      const ended = await pollUntil(
        () => (this.s.jobStore.get(jobId).state === 'running' ? undefined : true),
        { intervalMs: FOLLOW_INTERVAL_MS, deadlineMs: FOLLOW_DEADLINE_MS },
      );
      info = this.s.engine.info(jobId);
      if (!ended)
        this.store.journal(id, `${v.vm}: job ${jobId} still running after ${FOLLOW_DEADLINE_MS} ms`);
    }
    const out = outcomeOf(v, info, new Date().toISOString());
    this.store.updateVm(
      id,
      out,
      `${out.state} (job ${jobId} ${info.state}${out.error ? `: ${out.error.message}` : ''})`,
    );
  }

  abort(id: string, v: DrainVm): void {
    try {
      this.s.engine.abort(v.job!);
      this.store.journal(id, `${v.vm}: cancel sent to job ${v.job}`);
    } catch (e) {
      // Past its switchover a move finishes; the drain records how it ended.
      this.store.journal(id, `${v.vm}: job ${v.job} not cancelled: ${(e as Error).message}`);
    }
  }
}

/** The request `vmhop migrate` would send for this move (`POST /v1/migrations`'s body). */
function requestOf(
  v: DrainVm,
  d: Pick<DrainRow, 'insecure' | 'keepSourceDisks' | 'limits' | 'vms'>,
): z.input<typeof MigrateRequest> {
  const share = v.mode === 'offline' ? undefined : bandwidthShareMiBs(d.limits, d.vms.length);
  const options = {
    ...(v.mode === 'live-copy' ? { copyStorage: 'all' as const } : {}),
    ...(share ? { bandwidthMiBs: share } : {}),
    // Disks a move copies leave the drained host once the target runs the VM (DrainStartRequest).
    ...(v.mode !== 'live-shared' && !d.keepSourceDisks ? { deleteSource: true } : {}),
    ...(d.insecure ? { insecure: true } : {}),
  };
  return { vm: v.vm, to: v.to, mode: v.mode, options };
}
