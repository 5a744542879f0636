// Source: follows the RAM copy until QEMU stops the guest at the pre-switchover pause.
// A stall watchdog (no transferred byte for stallTimeoutMs: a silent link drop, which TCP
// alone would sit out for many minutes), the --timeout action and a cancel all end it here.
import { queryMigrate, stop, type MigrationInfo, type QmpExecutor } from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';
import type { MigrationOptions } from '../../../protocol/migration.js';

export interface WatchOptions {
  signal: AbortSignal;
  options: MigrationOptions;
  onSample: (info: MigrationInfo, at: number) => void;
  intervalMs?: number;
}

/** Resolves with the moment the source was seen paused at pre-switchover. */
export async function watchUntilSwitchover(
  qmp: QmpExecutor,
  w: WatchOptions,
): Promise<{ pausedAt: number; notes: string[] }> {
  const started = Date.now();
  let lastBytes = -1;
  let lastMoveAt = started;
  let suspended = false;
  const notes: string[] = [];
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
      return { pausedAt: now, notes };
    if (info.status === 'failed' || info.status === 'cancelled') {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_FAILED',
        `QEMU reports the migration ${info.status}: ${info['error-desc'] ?? 'no reason given'}`,
        { status: info.status },
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
    if (w.options.timeoutS && now - started > w.options.timeoutS * 1000) {
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
    await new Promise((r) => setTimeout(r, w.intervalMs ?? 250));
  }
}
