// Source: undo a migration that has not reached the commit point. migrate_cancel, then
// make sure the guest runs as it did before (QEMU resumes a guest cancelled at
// pre-switchover itself; one paused by --timeout suspend is resumed here).
import { cont, migrateCancel, queryMigrate, queryStatus, type QmpExecutor } from '../../../qmp/index.js';
import { pollUntil } from '../../poll-until.js';

/** Statuses of a migration that is still under way (a cancel has not ended it yet). */
const MOVING = new Set(['active', 'cancelling', 'setup', 'pre-switchover', 'device']);

export async function cancelAndResume(qmp: QmpExecutor, wasRunning: boolean): Promise<void> {
  await migrateCancel(qmp).catch(() => undefined);
  // Bounded at 10 s: a cancel that QEMU has not finished by then still resumes the guest below.
  await pollUntil(async () => (MOVING.has((await queryMigrate(qmp)).status ?? '') ? undefined : true), {
    intervalMs: 100,
    deadlineMs: 10_000,
  });
  if (wasRunning && !(await queryStatus(qmp)).running) await cont(qmp);
}
