// How a migration job ended, in the audit log beside the request that started it: the
// engine publishes job.ended, this writes migration.end under the same job id, credited to
// whoever started the job here (a token on the source, the source agent on the target).
import { errorCodeOfEnd, type JobState } from '../../protocol/migration.js';
import type { Logger } from 'pino';
import type { AuditStore } from '../db/audit-store.js';
import type { JobStore } from '../db/job-store.js';
import type { EventBus } from '../events/bus.js';

/** Subscribes to the bus; returns the unsubscribe. */
export function auditJobEnds(d: {
  events: EventBus;
  jobs: JobStore;
  audit: AuditStore;
  log: Logger;
}): () => void {
  return d.events.subscribe((e) => {
    if (e.type !== 'job.ended') return;
    try {
      const job = d.jobs.find(e.job);
      const start = d.audit.startOf(e.job);
      const state = e.state as JobState;
      const outcome = state === 'completed' ? 'ok' : (job?.report?.error?.code ?? errorCodeOfEnd(state));
      d.audit.append({
        who: start?.who ?? (job?.role === 'target' && job.peer ? job.peer : 'agent'),
        whoKind: start?.whoKind ?? (job?.role === 'target' && job.peer ? 'peer' : 'agent'),
        action: 'migration.end',
        target: `vm/${e.vm}`,
        outcome,
        jobId: e.job,
        details: { state: e.state, ...(job ? { mode: job.mode, role: job.role, peer: job.peer } : {}) },
      });
    } catch (err) {
      d.log.error({ err, job: e.job }, 'audit log: writing the end of a job failed');
    }
  });
}
