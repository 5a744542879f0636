// Applying one side's migration settings and TLS credentials to a QEMU, used by both the
// outgoing and the incoming side, and the target's rule of which peer its TLS servers admit
// (authz-simple). QEMU reads the x509 files at object-add, so a missing or unreadable
// certificate fails here, before any byte moves.
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
export const AUTHZ_OBJECT_ID = 'vmhop-authz';

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
  // One left by an earlier job would make object-add fail; QEMU's usual answer here is "not
  // found", and any other failure to delete shows at once as the object-add's own error.
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
  // Best effort by contract: the next addTlsCreds replaces an object that stayed.
  await objectDel(qmp, { id: TLS_OBJECT_ID }).catch(() => undefined);
}

/**
 * The distinguished name QEMU (gnutls, RFC 4514) reads from a host certificate vmhop issued: its
 * subject is `/CN=<name>` only (tls/ca.ts), and QEMU 10 logs `TLS x509 authz check for CN=c is
 * denied` for host `c`. The name passed the host-name rule, so it holds no `,` `=` or `+`.
 */
export const peerIdentity = (host: string) => `CN=${host}`;

/**
 * Target: only the job's source may feed this QEMU. verify-peer alone admits any certificate of
 * the cluster CA, that is every other host; the authz object narrows the RAM listener (tls-authz)
 * and the NBD server (nbd-server-start names it too) to the source's certificate. Set after the
 * source's planned parameters, so that nothing the source sent turns TLS or the check off.
 */
export async function admitOnlyPeer(qmp: QmpExecutor, source: string): Promise<void> {
  await objectAdd(qmp, { 'qom-type': 'authz-simple', id: AUTHZ_OBJECT_ID, identity: peerIdentity(source) });
  await migrateSetParameters(qmp, { 'tls-creds': TLS_OBJECT_ID, 'tls-authz': AUTHZ_OBJECT_ID });
}

/** After the last byte arrived: the running VM keeps no rule naming its old source. */
export async function removePeerAuthz(qmp: QmpExecutor): Promise<void> {
  await migrateSetParameters(qmp, { 'tls-authz': '' });
  await objectDel(qmp, { id: AUTHZ_OBJECT_ID });
}
