// Executes a drain (issue 17 §1): the plan of fleet/plan-drain.ts, one ordinary migration job per
// VM started through the engine as `POST /v1/migrations` starts them (drain-move.ts), in plan
// order under the limits (drain-order.ts), each followed to its end and its outcome journaled.
// The host enters maintenance first. Cancel aborts the running moves through the engine's cancel
// and leaves the queued ones. A drain left running by a previous agent process is resumed.
// In cluster mode a move also takes fleet-wide slots first and the report goes to etcd
// (drain-slots.ts).
import { randomUUID } from 'node:crypto';
import { planDrain } from '../../fleet/plan-drain.js';
import type { DrainJob, DrainPlan, DrainStartRequest, DrainVm } from '../../protocol/drain.js';
import { VmhopError } from '../../protocol/errors.js';
import { DrainStore } from '../db/drain-store.js';
import type { AgentServices } from '../services.js';
import { drainSnapshot } from './drain-snapshot.js';
import { movesToStart } from './drain-order.js';
import { DrainMoves } from './drain-move.js';
import { drainJobOf } from './drain-report.js';
import { DrainSlots, SLOT_POLL_MS } from './drain-slots.js';

/** The newest journal entries the report in etcd carries (the whole journal stays in SQLite). */
const REPORT_JOURNAL_ENTRIES = 50;

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

  private readonly moves: DrainMoves;
  readonly slots: DrainSlots;

  constructor(private readonly s: AgentServices) {
    this.store = new DrainStore(s.db);
    this.moves = new DrainMoves(s, this.store);
    this.slots = new DrainSlots({
      cluster: s.cluster,
      host: s.config.name,
      journal: (id, entry) => this.store.journal(id, entry),
      log: s.log,
    });
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
        ...(req.linkBudgetMbps ? { linkBudgetBitsPerSecond: req.linkBudgetMbps * 1e6 } : {}),
      },
    });
    const id = randomUUID();
    this.store.enterMaintenance(req.reason ?? `drained (drain ${id})`, id);
    // Cluster mode: other hosts see the maintenance in this host's member record.
    void this.s.cluster?.updateSelf({ maintenance: true });
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
    for (const v of d.vms) if (v.state === 'moving' && v.job) this.moves.abort(id, v);
    this.runs.get(id)?.wake();
    this.publish(id);
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
      .catch((e: unknown) => this.stopped(id, e))
      .finally(() => this.runs.delete(id));
  }

  private async run(id: string, woken: () => Promise<void>): Promise<void> {
    const active = new Map<string, Promise<void>>();
    const track = (vm: string, p: Promise<void>) =>
      active.set(
        vm,
        p.finally(() => active.delete(vm)),
      );
    const left = this.store.get(id);
    for (const v of left.vms.filter((x) => x.state === 'moving')) {
      // Without a job nothing had started: queued again at once, before the loop looks.
      if (!v.job) track(v.vm, this.moves.adopt(id, v));
      else
        track(
          v.vm,
          this.slots
            .adopt(id, v, left.limits)
            .then(() => this.moves.adopt(id, v))
            .finally(() => this.slots.release(id, v.vm)),
        );
    }
    for (;;) {
      const waiting = await this.startMoves(id, track);
      this.publish(id);
      if (!active.size && !waiting) break;
      // A move waiting for a fleet-wide slot is asked again after SLOT_POLL_MS.
      const poll = waiting ? [new Promise((r) => setTimeout(r, SLOT_POLL_MS))] : [];
      await Promise.race([...active.values(), woken(), ...poll]);
    }
    this.finish(id);
    this.publish(id);
  }

  /** Starts the moves the limits allow whose slots it gets; true when one waits for a slot. */
  private async startMoves(id: string, track: (vm: string, p: Promise<void>) => void): Promise<boolean> {
    const d = this.store.get(id);
    let waiting = false;
    if (d.cancelRequested) return waiting;
    for (const v of movesToStart(d.vms, d.limits)) {
      if (!(await this.slots.take(id, v, d.limits))) waiting = true;
      else if (this.store.get(id).cancelRequested) await this.slots.release(id, v.vm);
      else
        track(
          v.vm,
          this.moves.move(id, v).finally(() => this.slots.release(id, v.vm)),
        );
    }
    return waiting;
  }

  /** The drain's report under drains/<host> in etcd (cluster mode; best effort). */
  private publish(id: string): void {
    this.slots.publish(() => {
      const info = this.info(id);
      return { ...info, journal: info.journal?.slice(-REPORT_JOURNAL_ENTRIES) };
    });
  }

  /** The drain's loop failed (e.g. the registry closed under it at shutdown): said, never thrown on. */
  private stopped(id: string, e: unknown): void {
    try {
      this.store.end(id, 'failed', `the drain stopped: ${(e as Error).message}`);
      this.publish(id);
    } catch (again) {
      this.s.log.error({ err: again, drain: id }, 'could not record the end of a drain');
    }
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
