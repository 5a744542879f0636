// Executes a drain (issue 17 §1): the plan of fleet/plan-drain.ts, one ordinary migration job
// per VM started through the engine as `POST /v1/migrations` starts them, in plan order under
// the limits (drain-order.ts), each followed to its end and its outcome journaled. The host
// enters maintenance first. Cancel aborts the running moves through the engine's cancel and
// leaves the queued ones. A drain left running by a previous agent process is resumed.
import { randomUUID } from 'node:crypto';
import { planDrain } from '../../fleet/plan-drain.js';
import type { DrainJob, DrainPlan, DrainStartRequest, DrainVm } from '../../protocol/drain.js';
import { VmhopError } from '../../protocol/errors.js';
import type { z } from 'zod';
import type { JobInfo, MigrateRequest } from '../../protocol/migration.js';
import { DrainStore, type DrainRow } from '../db/drain-store.js';
import { pollUntil } from '../poll-until.js';
import type { AgentServices } from '../services.js';
import { drainSnapshot } from './drain-snapshot.js';
import { movesToStart } from './drain-order.js';
import { drainJobOf, outcomeOf } from './drain-report.js';

/** A job left running by a previous process is followed in the registry this often, this long. */
const FOLLOW_INTERVAL_MS = 1_000;
const FOLLOW_DEADLINE_MS = 24 * 3_600_000;

const runners = new WeakMap<AgentServices, DrainRunner>();

/** The one runner of an agent (the routes and the start-up resume share it). */
export function drainRunnerOf(s: AgentServices): DrainRunner {
  let r = runners.get(s);
  if (!r) runners.set(s, (r = new DrainRunner(s)));
  return r;
}

export class DrainRunner {
  readonly store: DrainStore;
  private readonly runs = new Map<string, { done: Promise<void>; wake: () => void }>();
  private starting = false;

  constructor(private readonly s: AgentServices) {
    this.store = new DrainStore(s.db);
  }

  /** Plans the drain, puts the host in maintenance, and starts moving; answers once it runs. */
  async start(req: DrainStartRequest): Promise<DrainJob> {
    // Two drains asked at once: the second is refused, not planned beside the first.
    if (this.starting) throw drainRunning(this.s.config.name, 'being planned');
    this.starting = true;
    try {
      return await this.plan(req);
    } finally {
      this.starting = false;
    }
  }

  private async plan(req: DrainStartRequest): Promise<DrainJob> {
    const host = this.s.config.name;
    const busy = this.store.running()[0];
    if (busy) throw drainRunning(host, busy.id);
    const snapshot = await drainSnapshot(this.s, {
      ...(req.to ? { to: req.to } : {}),
      linkBitsPerSecond: req.linkMbps * 1e6,
    });
    const plan = planDrain(snapshot, {
      host,
      ...(req.to ? { allowedTargets: req.to } : {}),
      limits: {
        ...(req.maxPerHost ? { maxPerHost: req.maxPerHost } : {}),
        ...(req.maxPerLink ? { maxPerLink: req.maxPerLink } : {}),
        ...(req.reserveMiB !== undefined ? { memoryReserveBytes: req.reserveMiB * 1024 * 1024 } : {}),
      },
    });
    const id = randomUUID();
    this.store.enterMaintenance(req.reason ?? `drained (drain ${id})`, id);
    this.store.create({
      id,
      host,
      limits: plan.limits,
      insecure: req.insecure,
      keepSourceDisks: req.keepSourceDisks,
      vms: plan.moves.map(queuedOf),
      unplaceable: plan.unplaceable,
      plan,
    });
    this.launch(id);
    return this.info(id);
  }

  info(id: string): DrainJob {
    return { ...drainJobOf(this.store.get(id)), journal: this.store.journalOf(id) };
  }

  /** Resolves once the drain has ended (at once when it is not running here). */
  async wait(id: string): Promise<DrainJob> {
    await this.runs.get(id)?.done;
    return this.info(id);
  }

  /** Aborts the running moves (a move past its switchover finishes), leaves the queued ones. */
  cancel(id: string): DrainJob {
    const d = this.store.get(id);
    if (d.state !== 'running') {
      throw new VmhopError(
        'VMHOP_ERR_VM_STATE',
        `drain \`${id}\` has ended (${d.state}): there is nothing to cancel`,
        { drain: id, state: d.state },
      );
    }
    this.store.requestCancel(id, 'by the user');
    for (const v of d.vms) if (v.state === 'moving' && v.job) this.abortMove(id, v);
    this.runs.get(id)?.wake();
    return this.info(id);
  }

  /** Resumes the drains a previous agent process left running (after the engine's recovery). */
  resumeAll(): void {
    for (const d of this.store.running()) {
      if (this.runs.has(d.id)) continue;
      this.store.journal(d.id, 'resumed after an agent restart');
      this.launch(d.id);
    }
  }

  private launch(id: string): void {
    let wake = () => {};
    const woken = () => new Promise<void>((r) => (wake = r));
    const run = { done: Promise.resolve(), wake: () => wake() };
    this.runs.set(id, run);
    run.done = this.run(id, woken)
      .catch((e: unknown) => this.store.end(id, 'failed', `the drain stopped: ${(e as Error).message}`))
      .finally(() => this.runs.delete(id));
  }

  private async run(id: string, woken: () => Promise<void>): Promise<void> {
    const active = new Map<string, Promise<void>>();
    const track = (vm: string, p: Promise<void>) =>
      active.set(
        vm,
        p.finally(() => active.delete(vm)),
      );
    for (const v of this.store.get(id).vms.filter((x) => x.state === 'moving'))
      track(v.vm, this.adopt(id, v));
    for (;;) {
      const d = this.store.get(id);
      if (!d.cancelRequested) for (const v of movesToStart(d.vms, d.limits)) track(v.vm, this.move(id, v));
      if (!active.size) break;
      await Promise.race([...active.values(), woken()]);
    }
    this.finish(id);
  }

  private finish(id: string): void {
    const d = this.store.get(id);
    for (const v of d.vms.filter((x) => x.state === 'queued'))
      this.store.updateVm(id, { ...v, state: 'cancelled' }, 'left queued: the drain was cancelled');
    const after = drainJobOf(this.store.get(id));
    const t = after.total;
    const summary = `${t.moved} moved, ${t.failed} failed, ${t.cancelled} cancelled, ${d.unplaceable.length} could not move`;
    if (d.cancelRequested) this.store.end(id, 'cancelled', summary);
    else this.store.end(id, t.moved === t.vms ? 'completed' : 'failed', summary);
  }

  /** One VM's move: journaled as moving before its migration starts, then followed to its end. */
  private async move(id: string, v: DrainVm): Promise<void> {
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
    if (this.store.get(id).cancelRequested) this.abortMove(id, withJob);
    await this.follow(id, withJob);
  }

  /**
   * A move a previous process left `moving`: with a job, that job's end (the engine's recovery
   * has finished or rolled it back by now); without one, nothing had started: queued again.
   */
  private async adopt(id: string, v: DrainVm): Promise<void> {
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

  private abortMove(id: string, v: DrainVm): void {
    try {
      this.s.engine.abort(v.job!);
      this.store.journal(id, `${v.vm}: cancel sent to job ${v.job}`);
    } catch (e) {
      // Past its switchover a move finishes; the drain records how it ended.
      this.store.journal(id, `${v.vm}: job ${v.job} not cancelled: ${(e as Error).message}`);
    }
  }
}

function drainRunning(host: string, what: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_DRAIN_RUNNING',
    `a drain of host \`${host}\` is ${what === 'being planned' ? what : `running (${what})`}: follow it with \`vmhop host drain-status ${host}\`, or cancel it with \`vmhop host drain-cancel ${host}\``,
    { host },
  );
}

function queuedOf(m: DrainPlan['moves'][number]): DrainVm {
  return { order: m.order, vm: m.vm, to: m.to, mode: m.mode, priority: m.priority, state: 'queued' };
}

/** The request `vmhop migrate` would send for this move (`POST /v1/migrations`'s body). */
function requestOf(
  v: DrainVm,
  d: Pick<DrainRow, 'insecure' | 'keepSourceDisks'>,
): z.input<typeof MigrateRequest> {
  const options = {
    ...(v.mode === 'live-copy' ? { copyStorage: 'all' as const } : {}),
    // Disks a move copies leave the drained host once the target runs the VM (DrainStartRequest).
    ...(v.mode !== 'live-shared' && !d.keepSourceDisks ? { deleteSource: true } : {}),
    ...(d.insecure ? { insecure: true } : {}),
  };
  return { vm: v.vm, to: v.to, mode: v.mode, options };
}
