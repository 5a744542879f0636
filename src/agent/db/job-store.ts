// Migration jobs in the registry, journal first: every phase change is written (with a
// journal line) before the engine acts on it, and phases never go backwards. Artifacts a
// job creates are recorded under its id, so rollback removes exactly those. The history is
// read in pages (newest first, a cursor for the next page) and pruned by age once jobs end.
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
  protocol_version: number | null;
  created_at: string;
  updated_at: string;
}

export interface JobRow extends Omit<JobInfo, 'progress'> {
  options: MigrationOptions;
  /** A source job's guest ran when it began (false: it was paused, and is left paused on a rollback). */
  guestWasRunning: boolean;
  /** The agent-to-agent protocol version every message of the job carries (protocol-version.ts). */
  protocolVersion: number;
}

/** Jobs from before the version was kept spoke 2, the only version agents spoke then. */
const VERSION_OF_OLDER_JOBS = 2;

const phaseIndex = (p: Phase) => Phase.options.indexOf(p);

/** A page cursor: the last job of a page, opaque to clients (base64url of `createdAt id`). */
const encodeCursor = (j: JobRow): string => Buffer.from(`${j.createdAt} ${j.id}`).toString('base64url');

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  const [createdAt, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(' ');
  if (!createdAt || !id || rest.length || Number.isNaN(Date.parse(createdAt))) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `cursor \`${cursor.slice(0, 80)}\` is not one this agent gave out: pass the \`nextCursor\` of the previous page, or no cursor for the first`,
      { cursor: cursor.slice(0, 80) },
    );
  }
  return { createdAt, id };
}

export class JobStore {
  /** `now`: the clock of every timestamp written (tests set the time instead of waiting). */
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private stamp(): string {
    return this.now().toISOString();
  }

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
      protocolVersion: r.protocol_version ?? VERSION_OF_OLDER_JOBS,
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
    /** Absent: read back as the version of older jobs. */
    protocolVersion?: number;
  }): JobRow {
    const now = this.stamp();
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO jobs (id, vm, kind, role, phase, state, peer, options, guest_was_running, protocol_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
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
          j.protocolVersion ?? null,
          now,
          now,
        );
      this.journal(
        j.id,
        `created as ${j.role} of a ${j.mode} migration of ${j.vm} (peer ${j.peer}, vmhop protocol ${j.protocolVersion ?? VERSION_OF_OLDER_JOBS}), phase ${j.phase}`,
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
    return this.page({ limit }).jobs;
  }

  /**
   * One page of the history, newest first (created_at, then id: a stable order even for jobs
   * created in the same millisecond), and the cursor of the next page when there is one.
   */
  page(o: { limit: number; cursor?: string }): { jobs: JobRow[]; nextCursor?: string } {
    const after = o.cursor === undefined ? undefined : decodeCursor(o.cursor);
    const rows = (
      after
        ? this.db
            .prepare(
              'SELECT * FROM jobs WHERE created_at < ? OR (created_at = ? AND id < ?) ORDER BY created_at DESC, id DESC LIMIT ?',
            )
            .all(after.createdAt, after.createdAt, after.id, o.limit + 1)
        : this.db.prepare('SELECT * FROM jobs ORDER BY created_at DESC, id DESC LIMIT ?').all(o.limit + 1)
    ) as RawJob[];
    const jobs = rows.slice(0, o.limit).map((r) => this.fromRaw(r));
    const last = jobs.at(-1);
    return rows.length > o.limit && last ? { jobs, nextCursor: encodeCursor(last) } : { jobs };
  }

  /**
   * Removes jobs that ended (completed, failed, cancelled) before `olderThan`, with their
   * journals and artifact records. Never a running, interrupted (resumable) or needs-operator
   * job, nor any job of a VM that has a needs-operator one: which job of a VM is its latest
   * decides whether starting it is refused as unresolved. The audit log is not touched.
   */
  prune(olderThan: Date): string[] {
    const cutoff = olderThan.toISOString();
    return this.db.transaction(() => {
      const ids = (
        this.db
          .prepare(
            `SELECT id FROM jobs WHERE state IN ('completed', 'failed', 'cancelled') AND updated_at < ?
               AND vm NOT IN (SELECT vm FROM jobs WHERE state = 'needs-operator')`,
          )
          .all(cutoff) as { id: string }[]
      ).map((r) => r.id);
      for (const table of ['journal', 'artifacts', 'jobs']) {
        const del = this.db.prepare(`DELETE FROM ${table} WHERE ${table === 'jobs' ? 'id' : 'job_id'} = ?`);
        for (const id of ids) del.run(id);
      }
      return ids;
    })();
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
      this.db.prepare('UPDATE jobs SET phase = ?, updated_at = ? WHERE id = ?').run(phase, this.stamp(), id);
      this.journal(id, `phase ${phase}: ${note}`);
    })();
  }

  end(id: string, state: Exclude<JobState, 'running'>, report?: JobReport): void {
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE jobs SET state = ?, report = ?, updated_at = ? WHERE id = ?')
        .run(state, report ? JSON.stringify(report) : null, this.stamp(), id);
      this.journal(id, `ended ${state}${report?.error ? `: ${report.error.message}` : ''}`);
    })();
  }

  /** Adds a note to an ended job's report (what finished after it, e.g. the source's retirement). */
  addReportNote(id: string, note: string): void {
    const report = this.get(id).report;
    if (!report) return;
    this.db
      .prepare('UPDATE jobs SET report = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify({ ...report, notes: [...report.notes, note] }), this.stamp(), id);
  }

  /** An interrupted offline copy runs again under the same id, keeping its artifacts. */
  reopen(id: string, note: string): void {
    this.db.transaction(() => {
      this.db
        .prepare("UPDATE jobs SET state = 'running', report = NULL, updated_at = ? WHERE id = ?")
        .run(this.stamp(), id);
      this.journal(id, `resumed: ${note}`);
    })();
  }

  /** A running job's options changed by the operator (migrate-setspeed): the report reads them. */
  setOptions(id: string, options: MigrationOptions): void {
    this.db
      .prepare('UPDATE jobs SET options = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify(options), this.stamp(), id);
  }

  setPreflight(id: string, checks: PreflightCheck[]): void {
    this.db.prepare('UPDATE jobs SET preflight = ? WHERE id = ?').run(JSON.stringify(checks), id);
  }

  journal(id: string, entry: string): void {
    this.db.prepare('INSERT INTO journal (job_id, at, entry) VALUES (?, ?, ?)').run(id, this.stamp(), entry);
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
      .run(id, kind, ref, this.stamp());
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
