// Source: the undos of a migration that has not reached the commit point. migrate_cancel ends the
// RAM stream (waiting until QEMU says it ended), and the guest runs as it did before (QEMU resumes
// a guest cancelled at pre-switchover itself; one paused by --timeout suspend is resumed here).
// The undo list (undo-list.ts) registers these as two steps; recovery runs them together.
import { VmhopError } from '../../../protocol/errors.js';
import { cont, migrateCancel, queryMigrate, queryStatus, type QmpExecutor } from '../../../qmp/index.js';
import { pollUntil } from '../../poll-until.js';

/** Statuses of a migration that is still under way (a cancel has not ended it yet). */
const MOVING = new Set(['active', 'cancelling', 'setup', 'pre-switchover', 'device']);

/** migrate_cancel (a no-op for QEMU when nothing migrates), then the wait until the stream ended. */
export async function cancelMigration(qmp: QmpExecutor, waitMs = 10_000): Promise<void> {
  await migrateCancel(qmp);
  let status: string | undefined;
  const ended = await pollUntil(
    async () => {
      status = (await queryMigrate(qmp)).status;
      return MOVING.has(status ?? '') ? undefined : true;
    },
    { intervalMs: 100, deadlineMs: waitMs },
  );
  if (!ended)
    throw new VmhopError(
      'VMHOP_ERR_TIMEOUT',
      `the source QEMU still reports the migration as \`${status}\` ${waitMs / 1000} s after migrate_cancel`,
      { status, waitedMs: waitMs },
    );
}

/** The guest runs again if it ran when the job began; a guest that was paused stays paused. */
export async function resumeGuest(qmp: QmpExecutor, wasRunning: boolean): Promise<void> {
  if (wasRunning && !(await queryStatus(qmp)).running) await cont(qmp);
}

/** Both undos in their order; the guest is resumed even when the cancel failed (the first error is thrown). */
export async function cancelAndResume(qmp: QmpExecutor, wasRunning: boolean): Promise<void> {
  const cancelError = await cancelMigration(qmp).then(
    () => undefined,
    (e: unknown) => e ?? new Error('migrate_cancel failed'),
  );
  try {
    await resumeGuest(qmp, wasRunning);
  } catch (e) {
    throw cancelError ?? e;
  }
  if (cancelError) throw cancelError;
}
