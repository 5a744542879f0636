// Source: undo a migration that has not reached the commit point. migrate_cancel, then
// make sure the guest runs as it did before (QEMU resumes a guest cancelled at
// pre-switchover itself; one paused by --timeout suspend is resumed here).
import { cont, migrateCancel, queryMigrate, queryStatus, type QmpExecutor } from '../../../qmp/index.js';

export async function cancelAndResume(qmp: QmpExecutor, wasRunning: boolean): Promise<void> {
  await migrateCancel(qmp).catch(() => undefined);
  for (let i = 0; i < 100; i++) {
    const st = (await queryMigrate(qmp)).status;
    if (
      st !== 'active' &&
      st !== 'cancelling' &&
      st !== 'setup' &&
      st !== 'pre-switchover' &&
      st !== 'device'
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (wasRunning && !(await queryStatus(qmp)).running) await cont(qmp);
}
