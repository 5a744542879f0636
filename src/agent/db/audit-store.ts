// The audit log in the registry: append and read, nothing else. The table's triggers refuse
// UPDATE and DELETE (schema.ts), so an entry, once written, stays as written.
import type { AuditEntry } from '../../protocol/audit.js';
import type { Db } from './open.js';

export type NewAuditEntry = Omit<AuditEntry, 'seq' | 'at'> & { at?: string };

interface RawAudit {
  seq: number;
  at: string;
  who: string;
  who_kind: string;
  action: string;
  target: string;
  outcome: string;
  status: number | null;
  request_id: string | null;
  job_id: string | null;
  details: string;
}

const fromRaw = (r: RawAudit): AuditEntry => ({
  seq: r.seq,
  at: r.at,
  who: r.who,
  whoKind: r.who_kind as AuditEntry['whoKind'],
  action: r.action,
  target: r.target,
  outcome: r.outcome,
  ...(r.status === null ? {} : { status: r.status }),
  ...(r.request_id === null ? {} : { requestId: r.request_id }),
  ...(r.job_id === null ? {} : { jobId: r.job_id }),
  details: JSON.parse(r.details) as Record<string, unknown>,
});

export class AuditStore {
  constructor(private readonly db: Db) {}

  append(e: NewAuditEntry): void {
    this.db
      .prepare(
        'INSERT INTO audit (at, who, who_kind, action, target, outcome, status, request_id, job_id, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        e.at ?? new Date().toISOString(),
        e.who,
        e.whoKind,
        e.action,
        e.target,
        e.outcome,
        e.status ?? null,
        e.requestId ?? null,
        e.jobId ?? null,
        JSON.stringify(e.details),
      );
  }

  /** The newest `limit` entries at or after `since`, newest first. */
  list(q: { since?: string; limit: number }): AuditEntry[] {
    const rows = q.since
      ? this.db
          .prepare('SELECT * FROM audit WHERE at >= ? ORDER BY seq DESC LIMIT ?')
          .all(new Date(q.since).toISOString(), q.limit)
      : this.db.prepare('SELECT * FROM audit ORDER BY seq DESC LIMIT ?').all(q.limit);
    return (rows as RawAudit[]).map(fromRaw);
  }

  /** The entry that started job `jobId` on this host (its migration.start or migration.prepare). */
  startOf(jobId: string): AuditEntry | undefined {
    const r = this.db
      .prepare("SELECT * FROM audit WHERE job_id = ? AND outcome = 'ok' ORDER BY seq LIMIT 1")
      .get(jobId) as RawAudit | undefined;
    return r && fromRaw(r);
  }
}
