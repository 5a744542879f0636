// Migration jobs in the registry, journal first: every phase change is written (with a
// journal line) before the engine acts on it, and phases never go backwards. Artifacts a
// job creates are recorded under its id, so rollback removes exactly those.
import { VmhopError } from '../../protocol/errors.js';
import {
  Phase,
  type JobInfo,
  type JobReport,
  type JobState,
  type MigrationMode,
  type MigrationOptions,
  type PreflightCheck,
} from '../../protocol/migration.js';
import type { Db } from './open.js';

export type Role = 'source' | 'target';
export type ArtifactKind =
  'vm-definition' | 'qemu' | 'volume' | 'nbd-export' | 'tls-object' | 'replaced-definition';

interface RawJob {
  id: string;
  vm: string;
  kind: string;
  role: string;
  phase: string;
  state: string;
  peer: string | null;
  options: string;
  report: string | null;
  error: string | null;
  preflight: string | null;
  guest_was_running: number | null;
  created_at: string;
  updated_at: string;
}

export interface JobRow extends Omit<JobInfo, 'progress'> {
  options: MigrationOptions;
  /** A source job's guest ran when it began (false: it was paused, and is left paused on a rollback). */
  guestWasRunning: boolean;
}

const phaseIndex = (p: Phase) => Phase.options.indexOf(p);

export class JobStore {
  constructor(private readonly db: Db) {}

  private fromRaw(r: RawJob): JobRow {
    return {
      id: r.id,
      vm: r.vm,
      mode: r.kind as MigrationMode,
      role: r.role as Role,
      peer: r.peer ?? '',
      phase: r.phase as Phase,
      state: r.state as JobState,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      options: JSON.parse(r.options) as MigrationOptions,
      guestWasRunning: r.guest_was_running !== 0,
      ...(r.report ? { report: JSON.parse(r.report) as JobReport } : {}),
      ...(r.preflight ? { preflight: JSON.parse(r.preflight) as PreflightCheck[] } : {}),
    };
  }

  create(j: {
    id: string;
    vm: string;
    mode: MigrationMode;
    role: Role;
    peer: string;
    phase: Phase;
    options: MigrationOptions;
    guestWasRunning?: boolean;
  }): JobRow {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO jobs (id, vm, kind, role, phase, state, peer, options, guest_was_running, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          j.id,
          j.vm,
          j.mode,
          j.role,
          j.phase,
          'running',
          j.peer,
          JSON.stringify(j.options),
          j.guestWasRunning === undefined ? null : Number(j.guestWasRunning),
          now,
          now,
        );
      this.journal(
        j.id,
        `created as ${j.role} of a ${j.mode} migration of ${j.vm} (peer ${j.peer}), phase ${j.phase}`,
      );
    })();
    return this.get(j.id);
  }

  get(id: string): JobRow {
    const r = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as RawJob | undefined;
    if (!r)
      throw new VmhopError('VMHOP_ERR_JOB_NOT_FOUND', `migration job \`${id}\` not found on this host`, {
        job: id,
      });
    return this.fromRaw(r);
  }

  find(id: string): JobRow | undefined {
    const r = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as RawJob | undefined;
    return r && this.fromRaw(r);
  }

  list(limit = 200): JobRow[] {
    return (
      this.db.prepare('SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?').all(limit) as RawJob[]
    ).map((r) => this.fromRaw(r));
  }

  running(): JobRow[] {
    return (this.db.prepare("SELECT * FROM jobs WHERE state = 'running'").all() as RawJob[]).map((r) =>
      this.fromRaw(r),
    );
  }

  runningFor(vm: string): JobRow | undefined {
    const r = this.db.prepare("SELECT * FROM jobs WHERE vm = ? AND state = 'running'").get(vm) as
      RawJob | undefined;
    return r && this.fromRaw(r);
  }

  /** The newest job of `vm`, whatever its state. */
  latestFor(vm: string): JobRow | undefined {
    const r = this.db.prepare('SELECT * FROM jobs WHERE vm = ? ORDER BY created_at DESC LIMIT 1').get(vm) as
      RawJob | undefined;
    return r && this.fromRaw(r);
  }

  /** Moves the job forward to `phase`, journaled in the same transaction; never backwards. */
  advance(id: string, phase: Phase, note: string): void {
    this.db.transaction(() => {
      const cur = this.get(id);
      if (phaseIndex(phase) < phaseIndex(cur.phase)) {
        throw new Error(`job ${id}: phase ${phase} would go back from ${cur.phase}`);
      }
      this.db
        .prepare('UPDATE jobs SET phase = ?, updated_at = ? WHERE id = ?')
        .run(phase, new Date().toISOString(), id);
      this.journal(id, `phase ${phase}: ${note}`);
    })();
  }

  end(id: string, state: Exclude<JobState, 'running'>, report?: JobReport): void {
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE jobs SET state = ?, report = ?, updated_at = ? WHERE id = ?')
        .run(state, report ? JSON.stringify(report) : null, new Date().toISOString(), id);
      this.journal(id, `ended ${state}${report?.error ? `: ${report.error.message}` : ''}`);
    })();
  }

  /** Adds a note to an ended job's report (what finished after it, e.g. the source's retirement). */
  addReportNote(id: string, note: string): void {
    const report = this.get(id).report;
    if (!report) return;
    this.db
      .prepare('UPDATE jobs SET report = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify({ ...report, notes: [...report.notes, note] }), new Date().toISOString(), id);
  }

  /** An interrupted offline copy runs again under the same id, keeping its artifacts. */
  reopen(id: string, note: string): void {
    this.db.transaction(() => {
      this.db
        .prepare("UPDATE jobs SET state = 'running', report = NULL, updated_at = ? WHERE id = ?")
        .run(new Date().toISOString(), id);
      this.journal(id, `resumed: ${note}`);
    })();
  }

  /** A running job's options changed by the operator (migrate-setspeed): the report reads them. */
  setOptions(id: string, options: MigrationOptions): void {
    this.db
      .prepare('UPDATE jobs SET options = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify(options), new Date().toISOString(), id);
  }

  setPreflight(id: string, checks: PreflightCheck[]): void {
    this.db.prepare('UPDATE jobs SET preflight = ? WHERE id = ?').run(JSON.stringify(checks), id);
  }

  journal(id: string, entry: string): void {
    this.db
      .prepare('INSERT INTO journal (job_id, at, entry) VALUES (?, ?, ?)')
      .run(id, new Date().toISOString(), entry);
  }

  journalOf(id: string): { at: string; entry: string }[] {
    return this.db.prepare('SELECT at, entry FROM journal WHERE job_id = ? ORDER BY seq').all(id) as {
      at: string;
      entry: string;
    }[];
  }

  addArtifact(id: string, kind: ArtifactKind, ref: string): void {
    this.db
      .prepare('INSERT OR IGNORE INTO artifacts (job_id, kind, ref, created_at) VALUES (?, ?, ?, ?)')
      .run(id, kind, ref, new Date().toISOString());
  }

  artifacts(id: string): { kind: ArtifactKind; ref: string }[] {
    return this.db
      .prepare('SELECT kind, ref FROM artifacts WHERE job_id = ? ORDER BY rowid DESC')
      .all(id) as {
      kind: ArtifactKind;
      ref: string;
    }[];
  }

  removeArtifact(id: string, kind: ArtifactKind, ref: string): void {
    this.db.prepare('DELETE FROM artifacts WHERE job_id = ? AND kind = ? AND ref = ?').run(id, kind, ref);
  }
}
