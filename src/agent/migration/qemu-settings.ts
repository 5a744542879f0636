// Applying one side's migration settings and TLS credentials to a QEMU, used by both the
// outgoing and the incoming side. QEMU reads the x509 files at object-add, so a missing
// or unreadable certificate fails here, before any byte moves.
import {
  migrateSetCapabilities,
  migrateSetParameters,
  objectAdd,
  objectDel,
  type MigrationCapabilityStatus,
  type MigrationParameters,
  type QmpExecutor,
} from '../../qmp/index.js';
import type { SideSettings } from '../peers/peer-link.js';

export const TLS_OBJECT_ID = 'vmhop-tls';

export async function applySettings(qmp: QmpExecutor, s: SideSettings): Promise<void> {
  if (s.capabilities.length) {
    await migrateSetCapabilities(qmp, { capabilities: s.capabilities as MigrationCapabilityStatus[] });
  }
  if (Object.keys(s.parameters).length) await migrateSetParameters(qmp, s.parameters as MigrationParameters);
}

export async function addTlsCreds(
  qmp: QmpExecutor,
  dir: string,
  endpoint: 'client' | 'server',
): Promise<void> {
  await objectDel(qmp, { id: TLS_OBJECT_ID }).catch(() => undefined);
  await objectAdd(qmp, {
    'qom-type': 'tls-creds-x509',
    id: TLS_OBJECT_ID,
    dir,
    endpoint,
    'verify-peer': true,
  });
}

export async function removeTlsCreds(qmp: QmpExecutor): Promise<void> {
  await objectDel(qmp, { id: TLS_OBJECT_ID }).catch(() => undefined);
}
