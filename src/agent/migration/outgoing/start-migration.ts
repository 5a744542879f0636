// Source: apply this side's settings and TLS credentials, then `migrate` to the target's
// listener. QEMU's reply only says it started; failures show later in query-migrate.
import { migrate, type QmpExecutor } from '../../../qmp/index.js';
import type { PrepareReply, SideSettings } from '../../peers/peer-link.js';
import { addTlsCreds, applySettings } from '../qemu-settings.js';

export async function startMigration(
  qmp: QmpExecutor,
  settings: SideSettings,
  target: PrepareReply,
  tlsDir: string | undefined,
): Promise<void> {
  await applySettings(qmp, settings);
  if (tlsDir) await addTlsCreds(qmp, tlsDir, 'client');
  await migrate(qmp, { uri: `tcp:${target.address}:${target.port}` });
}
