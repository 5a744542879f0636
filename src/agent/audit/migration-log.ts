// Each migration's start and end as one structured log line (pino), for whoever reads the
// agent's journal rather than its API: the VM, both hosts, the mode, who asked (the token on
// the source, the source agent on the target: the audit log's entry of the start), and at the
// end the result with the report's total, downtime and bytes. The audit log keeps the same
// facts as rows; these lines are for log pipelines.
import type { AuditStore } from '../db/audit-store.js';
import type { JobRow, JobStore } from '../db/job-store.js';
import type { EventBus } from '../events/bus.js';

/** The app's logger (pino in the agent; a test passes its own to read the lines). */
export interface LineLog {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
}

function hostsOf(job: JobRow, here: string): { source: string; target: string } {
  return job.role === 'source' ? { source: here, target: job.peer } : { source: job.peer, target: here };
}

/** The start line: called once the request that created the job here has been answered. */
export function logMigrationStart(d: { log: LineLog; host: string }, job: JobRow, who: string): void {
  d.log.info(
    {
      event: 'migration.start',
      job: job.id,
      vm: job.vm,
      ...hostsOf(job, d.host),
      mode: job.mode,
      role: job.role,
      who,
    },
    `migration of ${job.vm} started (${job.mode}, ${job.role})`,
  );
}

/** The end lines, from the bus's job.ended; returns the unsubscribe. */
export function logMigrationEnds(d: {
  events: EventBus;
  jobs: JobStore;
  audit: AuditStore;
  log: LineLog;
  host: string;
}): () => void {
  return d.events.subscribe((e) => {
    if (e.type !== 'job.ended') return;
    const job = d.jobs.find(e.job);
    if (!job) return;
    const r = job.report;
    const disk = Object.values(r?.diskBytes ?? {});
    const line = {
      event: 'migration.end',
      job: job.id,
      vm: job.vm,
      ...hostsOf(job, d.host),
      mode: job.mode,
      role: job.role,
      result: e.state,
      who: d.audit.startOf(job.id)?.who ?? (job.role === 'target' ? job.peer : 'agent'),
      totalMs: r?.totalMs ?? Date.parse(job.updatedAt) - Date.parse(job.createdAt),
      ...(r?.downtimeMs !== undefined ? { downtimeMs: r.downtimeMs } : {}),
      ...(r?.ramBytes !== undefined ? { ramBytes: r.ramBytes } : {}),
      ...(disk.length ? { diskBytes: disk.reduce((a, b) => a + b, 0) } : {}),
      ...(r?.error ? { errorCode: r.error.code, error: r.error.message } : {}),
    };
    const level = e.state === 'completed' ? 'info' : 'warn';
    d.log[level](line, `migration of ${job.vm} ended ${e.state}`);
  });
}
