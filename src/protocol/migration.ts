// Migrations as the API, CLI, UI and peer agents see them: the request, the options
// (virsh names where virsh has them), the persisted phases and end states, progress
// samples and the final report. One set of string unions shared by engine, events and UI.
import { z } from 'zod';
import type { ErrorCode } from './errors.js';
import { PolicyName } from './policy.js';
import { Prediction } from './prediction.js';
import { POOL_NAME } from './storage.js';
import { VM_NAME } from './vm-spec.js';

export const MigrationMode = z.enum(['offline', 'live-shared', 'live-copy']);
export type MigrationMode = z.infer<typeof MigrationMode>;

/** begin (source: pre-flight, plan) -> prepare (target) -> perform (source) -> finish (target) -> confirm (source). */
export const Phase = z.enum(['begin', 'prepare', 'perform', 'finish', 'confirm']);
export type Phase = z.infer<typeof Phase>;

/** running until it ends; failed means the source runs; interrupted = offline copy that can resume;
 *  needs-operator = outcome unknown (the source stays paused, nothing is guessed). */
export const JobState = z.enum([
  'running',
  'completed',
  'failed',
  'cancelled',
  'interrupted',
  'needs-operator',
]);
export type JobState = z.infer<typeof JobState>;

/** A job that ended otherwise than completed, and the error code that says how: one table, read both ways. */
type UnhappyEnd = Exclude<JobState, 'running' | 'completed'>;
const ERROR_OF_END = {
  failed: 'VMHOP_ERR_MIGRATION_FAILED',
  cancelled: 'VMHOP_ERR_MIGRATION_CANCELLED',
  interrupted: 'VMHOP_ERR_MIGRATION_INTERRUPTED',
  'needs-operator': 'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN',
} as const satisfies Record<UnhappyEnd, ErrorCode>;

/** The error code of a job that did not complete; a job still running counts as failed. */
export function errorCodeOfEnd(state: Exclude<JobState, 'completed'>): ErrorCode {
  return state === 'running' ? ERROR_OF_END.failed : ERROR_OF_END[state];
}

/** How a job ends on an error with this code; any code the table does not name means failed. */
export function endOfErrorCode(code: string): UnhappyEnd {
  const hit = Object.entries(ERROR_OF_END).find(([, c]) => c === code);
  return hit ? (hit[0] as UnhappyEnd) : 'failed';
}

export const TimeoutAction = z.enum(['abort', 'suspend', 'postcopy']);

export const MigrationOptions = z.object({
  /**
   * What a live migration may do to finish (policy.ts): unset in a request means the agent's
   * `migrationPolicy`; the job's stored options name the policy it ran under.
   */
  policy: PolicyName.optional(),
  /** MiB/s; unset = no cap (QEMU's own 128 MiB/s default is not a sensible default for a link). */
  bandwidthMiBs: z.number().positive().max(1_000_000).optional(),
  /** Largest acceptable pause at switchover, ms (QEMU default 300). */
  maxDowntimeMs: z.number().int().min(1).max(2_000_000).optional(),
  autoConverge: z.boolean().default(false),
  postcopy: z.boolean().default(false),
  /** Switch to post-copy by itself after the first full RAM pass. */
  postcopyAfterPrecopy: z.boolean().default(false),
  /** multifd channels. */
  parallel: z.number().int().min(1).max(64).optional(),
  /** multifd compression (needs parallel). */
  compressed: z.enum(['zlib', 'zstd']).optional(),
  timeoutS: z.number().int().positive().max(86_400).optional(),
  timeoutAction: TimeoutAction.default('abort'),
  keepSource: z.boolean().default(false),
  /** Plaintext RAM/NBD streams: only when asked; the report says so. */
  insecure: z.boolean().default(false),
  /** No progress for this long cancels the job (a silent link drop). */
  stallTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(30_000),
  copyStorage: z.enum(['all', 'inc']).optional(),
  migrateDisks: z.array(z.string().regex(/^vd[a-z]$/)).optional(),
  targetPool: z.string().optional(),
  deleteSource: z.boolean().default(false),
  /** Offline: save a running VM's RAM and device state, move it with the disks, restore it there. */
  keepState: z.boolean().default(false),
  /** Offline: write a copied block-device disk onto this device of the target instead of an image. */
  targetDevice: z
    .string()
    .regex(/^\/dev\/[A-Za-z0-9_./-]+$/, 'a device path under /dev')
    .optional(),
  /**
   * Run a live migration the pre-flight refuses as a known-bad combination for this QEMU (e.g. a
   * QEMU 7.x source under TCG); the job report carries a warning. Never overrides what cannot work.
   */
  force: z.boolean().default(false),
});
export type MigrationOptions = z.infer<typeof MigrationOptions>;

/**
 * A pool of the target, by name: a request's is checked at the edge, not first by the target
 * after the job started. (Stored options of older jobs keep the looser shape, so they still read.)
 */
export const TargetPool = z.string().regex(POOL_NAME, 'a pool name: letters, digits, _ . -');

export const MigrateRequest = z.object({
  vm: z.string().regex(VM_NAME),
  /** Target host: a peer name from the agent's config. */
  to: z.string().min(1),
  mode: MigrationMode,
  options: MigrationOptions.extend({ targetPool: TargetPool.optional() }).default({}),
  dryRun: z.boolean().default(false),
});
export type MigrateRequest = z.infer<typeof MigrateRequest>;

export const PreflightCheck = z.object({
  name: z.string(),
  ok: z.boolean(),
  detail: z.string(),
  /** What to do about a failed check. */
  fix: z.string().optional(),
});
export type PreflightCheck = z.infer<typeof PreflightCheck>;

export const Progress = z.object({
  phase: Phase,
  /** What is moving now: disks (mirror), ram (passes), switchover, postcopy (the target runs and pulls the rest). */
  stage: z.enum(['setup', 'disks', 'ram', 'switchover', 'postcopy', 'finishing', 'done']),
  ramTotalBytes: z.number(),
  ramTransferredBytes: z.number(),
  ramRemainingBytes: z.number(),
  /** Bytes/s over the last interval. */
  rateBps: z.number(),
  dirtyRateBps: z.number(),
  pass: z.number(),
  expectedDowntimeMs: z.number().optional(),
  etaS: z.number().nullable(),
  /** Why the ETA says what it says (e.g. "dirty rate above link rate: not converging"). */
  etaReason: z.string(),
  disks: z.array(z.object({ target: z.string(), doneBytes: z.number(), totalBytes: z.number() })).default([]),
  elapsedMs: z.number(),
});
export type Progress = z.infer<typeof Progress>;

export const JobReport = z.object({
  result: JobState,
  totalMs: z.number(),
  setupMs: z.number().optional(),
  /** vCPUs stopped on the source until resumed on the target, as the engine measured it. */
  downtimeMs: z.number().optional(),
  /** When the source was paused for the switchover and when the target resumed (epoch ms). */
  pausedAt: z.number().optional(),
  resumedAt: z.number().optional(),
  /** QEMU's own figure (includes any wait at the pre-switchover pause). */
  qemuDowntimeMs: z.number().optional(),
  ramBytes: z.number().optional(),
  /** Guest RAM that is not zero pages: what must cross at least once (the lower bound's numerator). */
  ramNonZeroBytes: z.number().optional(),
  diskBytes: z.record(z.string(), z.number()).optional(),
  passes: z.number().optional(),
  /** Set when the job switched to post-copy: after how long, why, and how often a stalled stream was recovered. */
  postcopy: z.object({ afterMs: z.number(), reason: z.string(), recoveries: z.number() }).optional(),
  /** Pages the target had to ask for during post-copy (each one a vCPU waiting on the link). */
  postcopyPageRequests: z.number().optional(),
  encrypted: z.boolean(),
  options: MigrationOptions,
  /** `details` as the error carried them, e.g. a QMP failure's command, arguments, QEMU's class and text. */
  error: z
    .object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() })
    .optional(),
  notes: z.array(z.string()).default([]),
  /** Known-bad combinations the user ran anyway (--force): what was measured to go wrong. */
  warnings: z.array(z.string()).optional(),
  /** What the pre-flight predicted (prediction.ts), beside the outcome above: totalMs, downtimeMs, ramBytes. */
  prediction: Prediction.optional(),
});
export type JobReport = z.infer<typeof JobReport>;

export const JobInfo = z.object({
  id: z.string(),
  vm: z.string(),
  mode: MigrationMode,
  role: z.enum(['source', 'target']),
  peer: z.string(),
  phase: Phase,
  state: JobState,
  createdAt: z.string(),
  updatedAt: z.string(),
  progress: Progress.optional(),
  report: JobReport.optional(),
  preflight: z.array(PreflightCheck).optional(),
});
export type JobInfo = z.infer<typeof JobInfo>;
