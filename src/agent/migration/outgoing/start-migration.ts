// Source: apply this side's settings and TLS credentials, then `migrate` to the target's
// listener. QEMU's reply only says it started; failures show later in query-migrate. Each step
// registers its undo first: the guest resumed (QEMU stops it at pre-switchover), the TLS object
// deleted, the stream cancelled (after `beforeCancel`, e.g. live-copy's mirrors).
import { migrate, objectDel, type QmpExecutor } from '../../../qmp/index.js';
import type { PrepareReply, SideSettings } from '../../peers/peer-link.js';
import { addTlsCreds, applySettings, TLS_OBJECT_ID } from '../qemu-settings.js';
import { cancelMigration, resumeGuest } from './rollback.js';
import { isAlreadyGone, type UndoList } from './undo-list.js';

export interface StartMigrationOptions {
  undo: UndoList;
  /** The guest ran when the job began: a rollback resumes it. */
  wasRunning: boolean;
  /** Runs before migrate_cancel on a rollback (live-copy ends its mirrors first). */
  beforeCancel?: (cause: Error) => Promise<unknown>;
}

export async function startMigration(
  qmp: QmpExecutor,
  settings: SideSettings,
  target: PrepareReply,
  tlsDir: string | undefined,
  o: StartMigrationOptions,
): Promise<void> {
  o.undo.add('guest stopped for the switchover (cont)', () => resumeGuest(qmp, o.wasRunning));
  // No undo for the capabilities and parameters: every job sets all of them it relies on.
  await applySettings(qmp, settings);
  if (tlsDir) {
    o.undo.add(`TLS object ${TLS_OBJECT_ID} (object-del)`, () => deleteObject(qmp, TLS_OBJECT_ID));
    await addTlsCreds(qmp, tlsDir, 'client');
  }
  o.undo.add('RAM stream started (migrate_cancel)', async (cause) => {
    await o.beforeCancel?.(cause);
    await cancelMigration(qmp);
  });
  await migrate(qmp, { uri: `tcp:${target.address}:${target.port}` });
}

/** object-del; an object that is not there (its object-add never ran) is nothing to undo. */
export async function deleteObject(qmp: QmpExecutor, id: string): Promise<void> {
  try {
    await objectDel(qmp, { id }, { timeoutMs: 5_000 });
  } catch (e) {
    if (!isAlreadyGone(e)) throw e;
  }
}
