// Waits for a QEMU migration (to a peer, a save file or from one) to end, by polling
// query-migrate under a deadline: completed resolves, failed/cancelled reject with
// QEMU's own error text. Shared by save/restore and the migration engine.
import { queryMigrate, type MigrationInfo, type QmpExecutor, type QmpSession } from '../../qmp/index.js';
import { VmhopError } from '../../protocol/errors.js';
import { pollUntil } from '../poll-until.js';

/**
 * A wait of at most `ms` that ends early at QEMU's next MIGRATION event (its status changed) or
 * MIGRATION_PASS (a new RAM pass began: the progress shows it when it happens), when `qmp` is a
 * session that delivers events; a plain sleep otherwise.
 */
export function untilMigrationEvent(qmp: QmpExecutor): (ms: number) => Promise<unknown> {
  const session = qmp as Partial<Pick<QmpSession, 'events'>>;
  if (typeof session.events !== 'function') return (ms) => new Promise((r) => setTimeout(r, ms));
  return async (ms) => {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), ms);
    try {
      await session.events!(['MIGRATION', 'MIGRATION_PASS'], { signal: stop.signal }).next();
    } catch {
      // The wait's end (aborted at `ms`) or the session's: either way the caller samples again.
    } finally {
      clearTimeout(timer);
      stop.abort();
    }
  };
}

export async function waitMigrationEnd(
  qmp: QmpExecutor,
  opts: { timeoutMs: number; signal?: AbortSignal; what: string; onSample?: (i: MigrationInfo) => void },
): Promise<MigrationInfo> {
  let last: MigrationInfo | undefined;
  const done = await pollUntil(
    async () => {
      const info = (last = await queryMigrate(qmp));
      opts.onSample?.(info);
      if (info.status === 'completed') return info;
      if (info.status === 'failed' || info.status === 'cancelled') {
        throw new VmhopError(
          'VMHOP_ERR_QMP',
          `${opts.what} ${info.status}: ${info['error-desc'] ?? 'QEMU gave no reason'}`,
          { status: info.status, error: info['error-desc'] },
        );
      }
      return undefined;
    },
    {
      intervalMs: 100,
      deadlineMs: opts.timeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
      wait: untilMigrationEvent(qmp),
    },
  );
  if (done) return done;
  throw new VmhopError(
    'VMHOP_ERR_TIMEOUT',
    `${opts.what} did not finish within ${Math.round(opts.timeoutMs / 1000)} s`,
    { status: last?.status },
  );
}
