// A job this agent runs as source, while it runs: its cancel, its recent query-migrate samples
// and the progress derived from them, published to the event bus for the API, CLI and UI.
import type { JobInfo, Progress } from '../../protocol/migration.js';
import type { MigrationInfo } from '../../qmp/index.js';
import type { JobRow } from '../db/job-store.js';
import type { MigrationContext } from './context.js';
import { progressOf, stalledForMs, type Sample } from './progress.js';

export interface Running {
  abort: AbortController;
  samples: Sample[];
  progress?: Progress;
  startedAt: number;
  done: Promise<JobInfo>;
  /** Set by `migrate-postcopy`; the RAM watcher switches at its next sample. */
  postcopyRequested: boolean;
}

/** One query-migrate sample (the last 240 are kept) and the progress it gives. */
export function recordSample(
  c: MigrationContext,
  job: JobRow,
  run: Running,
  info: MigrationInfo,
  at: number,
  stage: 'ram' | 'switchover' | 'postcopy',
): void {
  run.samples.push({ at, info });
  if (run.samples.length > 240) run.samples.shift();
  run.progress = progressOf(run.samples, {
    phase: c.jobs.get(job.id).phase,
    ...(stage === 'switchover' ? { stage } : {}),
    startedAt: run.startedAt,
    stalledMs: stalledForMs(run.samples),
    options: job.options,
  });
  publish(c, job, run.progress);
}

/** Progress of a stage that query-migrate does not describe (disk copies, offline volumes). */
export function publishProgress(c: MigrationContext, job: JobRow, run: Running, p: Partial<Progress>): void {
  const base: Progress = run.progress ?? {
    phase: c.jobs.get(job.id).phase,
    stage: 'setup',
    ramTotalBytes: 0,
    ramTransferredBytes: 0,
    ramRemainingBytes: 0,
    rateBps: 0,
    dirtyRateBps: 0,
    pass: 0,
    etaS: null,
    etaReason: '',
    disks: [],
    elapsedMs: 0,
  };
  run.progress = { ...base, ...p, elapsedMs: Date.now() - run.startedAt };
  publish(c, job, run.progress);
}

function publish(c: MigrationContext, job: JobRow, progress: Progress): void {
  c.events.publish({
    type: 'job.progress',
    job: job.id,
    vm: job.vm,
    data: progress as unknown as Record<string, unknown>,
  });
}
