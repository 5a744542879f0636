// A job this agent runs as source, while it runs: the mode's steps (or the volume copy), its
// cancel, its recent query-migrate samples and the progress derived from them (published to the
// event bus for the API, CLI and UI), and at its end the report, built also from a job that failed.
import { VmhopError } from '../../protocol/errors.js';
import {
  endOfErrorCode,
  type JobInfo,
  type JobReport,
  type JobState,
  type Progress,
} from '../../protocol/migration.js';
import type { Prediction } from '../../protocol/prediction.js';
import type { MigrationInfo } from '../../qmp/index.js';
import type { JobRow } from '../db/job-store.js';
import type { MigrationContext } from './context.js';
import { causeOfFailure } from './failure-cause.js';
import { subjectOf } from './job-subject.js';
import { ramFigures } from './modes/live-common.js';
import { modeRunners } from './modes/index.js';
import type { ModeResult } from './modes/types.js';
import { runVolumeCopy } from './modes/volume-copy.js';
import type { MigrationSettings } from './options.js';
import { progressOf, stalledForMs, type Sample } from './progress.js';

export interface Running {
  abort: AbortController;
  samples: Sample[];
  progress?: Progress;
  startedAt: number;
  done: Promise<JobInfo>;
  /** Set by `migrate-postcopy`; the RAM watcher switches at its next sample. */
  postcopyRequested: boolean;
  /** The pre-flight's prediction, kept in the report beside the outcome. */
  prediction?: Prediction;
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

/** Runs an admitted job to its end: the mode's steps, then the report and the `job.ended` event. */
export async function runJob(
  c: MigrationContext,
  job: JobRow,
  settings: MigrationSettings,
  run: Running,
): Promise<Exclude<JobState, 'running'>> {
  const peer = c.peer(job.peer);
  const subject = subjectOf(job);
  let state: Exclude<JobState, 'running'> = 'completed';
  let error: JobReport['error'];
  let result: ModeResult | undefined;
  try {
    const onProgress = (p: Partial<Progress>) => publishProgress(c, job, run, p);
    if (subject.kind === 'volume') {
      result = await runVolumeCopy({ c, job, subject, peer, signal: run.abort.signal, onProgress });
    } else {
      const runner = modeRunners[job.mode];
      if (!runner)
        throw new VmhopError('VMHOP_ERR_MIGRATION_OPTIONS', `mode ${job.mode} is not available`, {});
      result = await runner({
        c,
        job,
        vm: c.vms.get(subject.vm),
        peer,
        settings,
        signal: run.abort.signal,
        onSample: (info, at, stage) => recordSample(c, job, run, info, at, stage),
        onProgress,
        postcopyRequested: () => run.postcopyRequested,
        ...(run.prediction ? { prediction: run.prediction } : {}),
      });
    }
  } catch (e) {
    const err = await causeOfFailure(c, job, job.vm, peer, e);
    state = endOfErrorCode(err.code);
    // The details go with it: a QMP failure's command, arguments, QEMU's class and text.
    const details = jsonOnly(err.details);
    error = { code: err.code, message: err.message, ...(Object.keys(details).length ? { details } : {}) };
  }
  c.jobs.end(job.id, state, reportOf(job, settings, run, state, result, error));
  c.events.publish({ type: 'job.ended', job: job.id, vm: job.vm, state });
  return state;
}

function reportOf(
  job: JobRow,
  settings: MigrationSettings,
  run: Running,
  state: Exclude<JobState, 'running'>,
  result: ModeResult | undefined,
  error: JobReport['error'],
): JobReport {
  const throttle = Math.max(0, ...run.samples.map((s) => s.info['cpu-throttle-percentage'] ?? 0));
  return {
    result: state,
    totalMs: Date.now() - run.startedAt,
    encrypted: !job.options.insecure,
    options: job.options,
    notes: [
      ...(result?.notes ?? []),
      ...(throttle
        ? [
            `auto-converge slowed the guest's vCPUs by up to ${throttle}% during the RAM copy: the guest was held back longer than the downtime says`,
          ]
        : []),
      ...settings.notes,
    ],
    ...(settings.warnings.length ? { warnings: settings.warnings } : {}),
    // A job that ended early keeps what crossed until then.
    ...(result
      ? definedFigures(result)
      : run.samples.length
        ? definedFigures({ notes: [], ...ramFigures(run.samples.at(-1)?.info) })
        : {}),
    ...(error ? { error } : {}),
    ...(run.prediction ? { prediction: run.prediction } : {}),
  };
}

/** The report's figures from a mode's result, leaving out what the mode could not know. */
function definedFigures(r: ModeResult): Partial<JobReport> {
  const { notes: _n, ...figures } = r;
  return Object.fromEntries(Object.entries(figures).filter(([, v]) => v !== undefined)) as Partial<JobReport>;
}

/** What of `details` survives the registry's JSON: nothing that would not (a cycle, a bigint). */
function jsonOnly(details: Record<string, unknown> | undefined): Record<string, unknown> {
  try {
    return JSON.parse(JSON.stringify(details ?? {})) as Record<string, unknown>;
  } catch {
    return {};
  }
}
