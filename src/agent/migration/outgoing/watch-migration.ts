// Source: follows the RAM copy until QEMU stops the guest at the pre-switchover pause.
// A stall watchdog (no transferred byte for stallTimeoutMs: a silent link drop, which TCP
// alone would sit out for many minutes), the --timeout action and a cancel all end it here.
// With --postcopy it also asks QEMU to switch to post-copy (after the first full pass, at the
// --timeout, or when the user asks); QEMU then stops at the same pause, before it sends the
// device state, so the caller can write the commit record before the target can run.
// Under a policy that judges convergence (policy-actions.ts) a copy that does not converge is
// switched to post-copy, left to QEMU's throttle, or ended here with the source running.
import {
  migrateStartPostcopy,
  queryMigrate,
  stop,
  type MigrationInfo,
  type QmpExecutor,
} from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';
import { untilMigrationEvent } from '../../vm/migration-wait.js';
import type { MigrationOptions } from '../../../protocol/migration.js';
import type { Prediction } from '../../../protocol/prediction.js';
import { PolicyActions } from './policy-actions.js';

export interface WatchOptions {
  signal: AbortSignal;
  options: MigrationOptions;
  onSample: (info: MigrationInfo, at: number) => void;
  /** True once the user asked for the switch to post-copy (`vmhop migrate-postcopy`). */
  postcopyRequested?: () => boolean;
  /** The pre-flight's prediction: a policy switches after the first pass when it predicted no convergence. */
  prediction?: Prediction;
  /** What the policy did and why (a switch, the guest slowed), for the journal and the progress line. */
  onPolicy?: (text: string) => void;
  intervalMs?: number;
}

export interface SwitchoverPause {
  pausedAt: number;
  notes: string[];
  /** Set when post-copy was requested: the pause is the start of post-copy (or, if the copy converged first, of a normal switchover). */
  postcopy?: { afterMs: number; reason: string };
}

/** Resolves with the moment the source was seen paused at pre-switchover. */
export async function watchUntilSwitchover(qmp: QmpExecutor, w: WatchOptions): Promise<SwitchoverPause> {
  const started = Date.now();
  let lastBytes = -1;
  let lastMoveAt = started;
  let suspended = false;
  let postcopy: SwitchoverPause['postcopy'];
  const notes: string[] = [];
  const policy = new PolicyActions(w, started, notes);
  for (;;) {
    if (w.signal.aborted) {
      throw new VmhopError('VMHOP_ERR_MIGRATION_CANCELLED', 'the migration was cancelled', {
        reason: String(w.signal.reason ?? 'cancel'),
      });
    }
    const info = await queryMigrate(qmp);
    const now = Date.now();
    w.onSample(info, now);
    if (info.status === 'pre-switchover' || info.status === 'device' || info.status === 'completed')
      return { pausedAt: now, notes, ...(postcopy ? { postcopy } : {}) };
    if (info.status === 'failed' || info.status === 'cancelled') {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_FAILED',
        `QEMU reports the migration ${info.status}: ${info['error-desc'] ?? 'no reason given'}`,
        // QEMU's own text as query-migrate gave it, for the job's report.
        {
          status: info.status,
          command: 'query-migrate',
          ...(info['error-desc'] ? { desc: info['error-desc'] } : {}),
        },
      );
    }
    const bytes = info.ram?.transferred ?? 0;
    if (bytes !== lastBytes) {
      lastBytes = bytes;
      lastMoveAt = now;
    } else if (now - lastMoveAt > w.options.stallTimeoutMs) {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_FAILED',
        `no progress for ${Math.round((now - lastMoveAt) / 1000)} s (stall timeout ${w.options.stallTimeoutMs / 1000} s): the migration link is down or blocked`,
        { stalledMs: now - lastMoveAt },
      );
    }
    const timedOut = !!w.options.timeoutS && now - started > w.options.timeoutS * 1000;
    // The user's own word (--postcopy-after-precopy, --timeout-action postcopy, migrate-postcopy)
    // names the switch before the policy's judgement does.
    const why = postcopy ? undefined : (postcopyReason(info, w, timedOut) ?? (await policy.judge(info, now)));
    if (why && info.status === 'active') {
      await migrateStartPostcopy(qmp);
      postcopy = { afterMs: now - started, reason: why };
      notes.push(`asked QEMU to switch to post-copy after ${((now - started) / 1000).toFixed(1)} s: ${why}`);
    }
    if (timedOut && w.options.timeoutAction !== 'postcopy') {
      if (w.options.timeoutAction === 'abort') {
        throw new VmhopError(
          'VMHOP_ERR_MIGRATION_FAILED',
          `not finished within --timeout ${w.options.timeoutS} s (action abort)`,
          {},
        );
      }
      if (w.options.timeoutAction === 'suspend' && !suspended) {
        // A paused guest dirties nothing: the copy converges, at the price of a longer pause.
        await stop(qmp);
        suspended = true;
        notes.push(
          `--timeout ${w.options.timeoutS} s reached: the guest was paused so the copy could finish`,
        );
      }
    }
    // The next sample at QEMU's next status change (pre-switchover: the guest is stopped now), or
    // after the interval for the progress figures.
    await untilMigrationEvent(qmp)(w.intervalMs ?? 250);
  }
}

/** Why the copy should switch to post-copy now, or undefined. Only with --postcopy (the options layer refuses the rest). */
function postcopyReason(info: MigrationInfo, w: WatchOptions, timedOut: boolean): string | undefined {
  if (!w.options.postcopy) return undefined;
  if (w.postcopyRequested?.()) return 'asked for (migrate-postcopy)';
  if (w.options.postcopyAfterPrecopy && (info.ram?.['dirty-sync-count'] ?? 0) >= 2)
    return 'the first full RAM pass is done (--postcopy-after-precopy)';
  if (timedOut && w.options.timeoutAction === 'postcopy')
    return `--timeout ${w.options.timeoutS} s reached (--timeout-action postcopy)`;
  return undefined;
}
