// How long the job history is kept (agent config `jobRetentionDays`): ended jobs older than
// that are pruned from the registry at start and then hourly. What may be pruned is the job
// store's rule (JobStore.prune); this module only owns the schedule and the clock.
import type { Logger } from 'pino';
import type { JobStore } from './db/job-store.js';

export const DAY_MS = 86_400_000;

export interface JobRetentionOptions {
  jobs: JobStore;
  retentionDays: number;
  log: Pick<Logger, 'info' | 'error'>;
  /** The clock (tests move it instead of sleeping). */
  now?: () => number;
  /** Between two prunes. */
  intervalMs?: number;
}

/** Prunes once now; the ids of the jobs removed. */
export function pruneJobs(o: JobRetentionOptions): string[] {
  const now = (o.now ?? Date.now)();
  const ids = o.jobs.prune(new Date(now - o.retentionDays * DAY_MS));
  if (ids.length) o.log.info({ jobs: ids.length, retentionDays: o.retentionDays }, 'pruned ended jobs');
  return ids;
}

/** Prunes now and every `intervalMs` (1 h); the returned function stops it. */
export function startJobRetention(o: JobRetentionOptions): () => void {
  const run = () => {
    try {
      pruneJobs(o);
    } catch (err) {
      // A busy or damaged registry must not stop the agent; the next round tries again.
      o.log.error({ err }, 'pruning ended jobs failed');
    }
  };
  run();
  const timer = setInterval(run, o.intervalMs ?? 3_600_000);
  timer.unref();
  return () => clearInterval(timer);
}
