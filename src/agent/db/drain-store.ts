// Drains in the registry (issue 17 §1): the host's maintenance mark (one row while drained)
// and each drain as a job of its own, journal first: a VM's move is written as started before
// its migration starts and as ended before the next one starts, so a restart knows where it was.
// What a drain does is the runner's (agent/fleet/drain-runner.ts); this file only keeps it.
import type { DrainLimits, DrainState, DrainVm, Unplaceable } from '../../protocol/drain.js';
import { VmhopError } from '../../protocol/errors.js';
import type { Db } from './open.js';

export interface Maintenance {
  since: string;
  reason: string;
  /** The drain that put the host in maintenance. */
  drainId?: string;
}

export interface DrainRow {
  id: string;
  host: string;
  state: DrainState;
  cancelRequested: boolean;
  limits: DrainLimits;
  /** Every move's streams in plaintext (asked for with the drain). */
  insecure: boolean;
  /** Copied disks stay on the drained host (no deleteSource). */
  keepSourceDisks: boolean;
  vms: DrainVm[];
  unplaceable: Unplaceable[];
  createdAt: string;
  updatedAt: string;
}

interface RawDrain {
  id: string;
  kind: string;
  state: string;
  request: string;
  plan: string;
  moves: string;
  created_at: string;
  updated_at: string;
}

/** What the `request` and `plan` columns hold, besides the moves. */
interface Stored {
  host: string;
  cancelRequested: boolean;
  limits: DrainLimits;
  insecure?: boolean;
  keepSourceDisks?: boolean;
  unplaceable: Unplaceable[];
}

export class DrainStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private stamp(): string {
    return this.now().toISOString();
  }

  maintenance(): Maintenance | undefined {
    const r = this.db.prepare('SELECT since, reason, drain_id FROM maintenance WHERE id = 1').get() as
      { since: string; reason: string; drain_id: string | null } | undefined;
    return r && { since: r.since, reason: r.reason, ...(r.drain_id ? { drainId: r.drain_id } : {}) };
  }

  /** Enters maintenance; an existing mark keeps its `since` (a second drain does not reset it). */
  enterMaintenance(reason: string, drainId?: string): Maintenance {
    this.db
      .prepare(
        `INSERT INTO maintenance (id, since, reason, drain_id) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, drain_id = excluded.drain_id`,
      )
      .run(this.stamp(), reason, drainId ?? null);
    return this.maintenance()!;
  }

  /** Leaves maintenance; says whether the host was in it. */
  leaveMaintenance(): boolean {
    return this.db.prepare('DELETE FROM maintenance WHERE id = 1').run().changes > 0;
  }

  create(d: {
    id: string;
    host: string;
    limits: DrainLimits;
    insecure?: boolean;
    keepSourceDisks?: boolean;
    vms: DrainVm[];
    unplaceable: Unplaceable[];
    /** The plan it executes, kept beside the outcome. */
    plan: unknown;
  }) {
    const now = this.stamp();
    const stored: Stored = {
      host: d.host,
      cancelRequested: false,
      limits: d.limits,
      insecure: d.insecure === true,
      keepSourceDisks: d.keepSourceDisks === true,
      unplaceable: d.unplaceable,
    };
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO drains (id, kind, state, request, plan, moves, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          d.id,
          'drain',
          'running',
          JSON.stringify(stored),
          JSON.stringify(d.plan),
          JSON.stringify(d.vms),
          now,
          now,
        );
      this.journal(
        d.id,
        `created: ${d.vms.length} VMs to move off ${d.host}, ${d.unplaceable.length} that cannot move`,
      );
    })();
    return this.get(d.id);
  }

  private fromRaw(r: RawDrain): DrainRow {
    const stored = JSON.parse(r.request) as Stored;
    return {
      id: r.id,
      host: stored.host,
      state: r.state as DrainState,
      cancelRequested: stored.cancelRequested,
      limits: stored.limits,
      insecure: stored.insecure === true,
      keepSourceDisks: stored.keepSourceDisks === true,
      vms: JSON.parse(r.moves) as DrainVm[],
      unplaceable: stored.unplaceable,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  }

  find(id: string): DrainRow | undefined {
    const r = this.db.prepare('SELECT * FROM drains WHERE id = ?').get(id) as RawDrain | undefined;
    return r && this.fromRaw(r);
  }

  get(id: string): DrainRow {
    const d = this.find(id);
    if (d) return d;
    throw new VmhopError(
      'VMHOP_ERR_DRAIN_NOT_FOUND',
      `drain \`${id}\` not found on this host: \`vmhop host drain-status HOST\` shows the latest`,
      { drain: id },
    );
  }

  /** The newest drain, whatever its state. */
  latest(): DrainRow | undefined {
    const r = this.db.prepare('SELECT * FROM drains ORDER BY created_at DESC, id DESC LIMIT 1').get() as
      RawDrain | undefined;
    return r && this.fromRaw(r);
  }

  running(): DrainRow[] {
    return (this.db.prepare("SELECT * FROM drains WHERE state = 'running'").all() as RawDrain[]).map((r) =>
      this.fromRaw(r),
    );
  }

  /** One VM's move changed (started, ended), journaled in the same transaction. */
  updateVm(id: string, vm: DrainVm, note: string): void {
    this.db.transaction(() => {
      const d = this.get(id);
      const vms = d.vms.map((v) => (v.vm === vm.vm ? vm : v));
      this.db
        .prepare('UPDATE drains SET moves = ?, updated_at = ? WHERE id = ?')
        .run(JSON.stringify(vms), this.stamp(), id);
      this.journal(id, `${vm.vm}: ${note}`);
    })();
  }

  requestCancel(id: string, note: string): void {
    this.db.transaction(() => {
      const d = this.get(id);
      const stored: Stored = { ...storedOf(d), cancelRequested: true };
      this.db
        .prepare('UPDATE drains SET request = ?, updated_at = ? WHERE id = ?')
        .run(JSON.stringify(stored), this.stamp(), id);
      this.journal(id, `cancel requested: ${note}`);
    })();
  }

  end(id: string, state: Exclude<DrainState, 'running'>, note: string): void {
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE drains SET state = ?, updated_at = ? WHERE id = ?')
        .run(state, this.stamp(), id);
      this.journal(id, `ended ${state}: ${note}`);
    })();
  }

  journal(id: string, entry: string): void {
    this.db
      .prepare('INSERT INTO drain_journal (drain_id, at, entry) VALUES (?, ?, ?)')
      .run(id, this.stamp(), entry);
  }

  journalOf(id: string): { at: string; entry: string }[] {
    return this.db.prepare('SELECT at, entry FROM drain_journal WHERE drain_id = ? ORDER BY seq').all(id) as {
      at: string;
      entry: string;
    }[];
  }
}

const storedOf = (d: DrainRow): Stored => ({
  host: d.host,
  cancelRequested: d.cancelRequested,
  limits: d.limits,
  insecure: d.insecure,
  keepSourceDisks: d.keepSourceDisks,
  unplaceable: d.unplaceable,
});
