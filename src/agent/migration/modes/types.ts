// The contract between the engine and a migration mode: what a runner is given (the job
// past begin/pre-flight, the VM, the peer link, the per-side settings, a cancel signal and
// progress callbacks) and what it reports back for the job's report.
import type { MigrationInfo } from '../../../qmp/index.js';
import type { Progress } from '../../../protocol/migration.js';
import type { Prediction } from '../../../protocol/prediction.js';
import type { JobRow } from '../../db/job-store.js';
import type { VmRow } from '../../db/vm-store.js';
import type { PeerLink } from '../../peers/peer-link.js';
import type { MigrationContext } from '../context.js';
import type { planMigrationSettings } from '../options.js';

/** What a mode's runner gets from the engine (the job is already past begin/pre-flight). */
export interface ModeRun {
  c: MigrationContext;
  job: JobRow;
  vm: VmRow;
  peer: PeerLink;
  settings: ReturnType<typeof planMigrationSettings>;
  signal: AbortSignal;
  onSample: (info: MigrationInfo, at: number, stage: 'ram' | 'switchover' | 'postcopy') => void;
  /** True once the user asked to switch to post-copy now (`vmhop migrate-postcopy`). */
  postcopyRequested: () => boolean;
  /** The pre-flight's prediction, when one was measured: the policy may choose the way by it. */
  prediction?: Prediction;
  /** Progress of a stage the engine cannot sample from query-migrate (disk copies). */
  onProgress: (p: Partial<Progress>) => void;
}

/** What a mode's runner reports; every figure it cannot know stays unset. */
export interface ModeResult {
  setupMs?: number;
  downtimeMs?: number;
  pausedAt?: number;
  resumedAt?: number;
  qemuDowntimeMs?: number;
  ramBytes?: number;
  ramNonZeroBytes?: number;
  passes?: number;
  /** Set when the job switched to post-copy: when, why, and what it took. */
  postcopy?: { afterMs: number; reason: string; recoveries: number };
  /** Pages the target asked for during post-copy (QEMU's postcopy-requests). */
  postcopyPageRequests?: number;
  /** Bytes copied per disk target (vda, ...). */
  diskBytes?: Record<string, number>;
  notes: string[];
}

export type ModeRunner = (r: ModeRun) => Promise<ModeResult>;
