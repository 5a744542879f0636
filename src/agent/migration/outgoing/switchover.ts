// Source: leave the pre-switchover pause (the guest is stopped; QEMU sends the last dirty
// pages and device state) and wait until QEMU says the stream is complete.
import { migrateContinue, type QmpExecutor } from '../../../qmp/index.js';
import { waitMigrationEnd } from '../../vm/migration-wait.js';

export async function completeSwitchover(qmp: QmpExecutor, timeoutMs = 120_000) {
  await migrateContinue(qmp, { state: 'pre-switchover' });
  return waitMigrationEnd(qmp, { timeoutMs, what: 'the switchover' });
}
