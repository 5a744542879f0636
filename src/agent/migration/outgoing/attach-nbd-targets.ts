// Source, live-copy: opens one NBD client node per copied disk on the target's export, over
// TLS (its own x509 object: the RAM stream's is replaced by start-migration while these
// nodes hold theirs). reconnect-delay 0 fails requests as soon as the connection is known
// lost instead of holding guest-visible work for a reconnect; keep-alive lets an idle
// connection to a vanished target be noticed at all.
import { blockdevAdd, objectAdd, objectDel, type QmpExecutor } from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';
import type { PrepareReply } from '../../peers/peer-link.js';
import type { Mirrors } from './mirror-jobs.js';

export const NBD_TLS_OBJECT_ID = 'vmhop-tls-nbd';

export async function attachNbdTargets(
  m: Mirrors,
  target: PrepareReply,
  tlsDir: string | undefined,
): Promise<void> {
  if (!m.jobs.length) return; // every disk is on a shared pool: nothing to copy
  const nbd = target.nbd;
  const missing = m.jobs.filter((j) => !nbd?.exports.some((e) => e.target === j.target)).map((j) => j.target);
  if (!nbd || missing.length) {
    throw new VmhopError(
      'VMHOP_ERR_PEER_PROTOCOL',
      `the target exported no NBD export for disk(s) ${missing.join(', ')}: run the same vmhop version on both hosts`,
      { missing },
    );
  }
  m.server = { address: target.address, port: nbd.port };
  if (tlsDir) await addNbdTlsCreds(m.qmp, tlsDir);
  for (const j of m.jobs) {
    const exp = nbd.exports.find((e) => e.target === j.target)!;
    await blockdevAdd(m.qmp, {
      driver: 'nbd',
      'node-name': j.node,
      server: { type: 'inet', host: target.address, port: String(nbd.port), 'keep-alive': true },
      export: exp.name,
      'reconnect-delay': 0,
      ...(tlsDir ? { 'tls-creds': NBD_TLS_OBJECT_ID, 'tls-hostname': target.address } : {}),
    });
    m.attached.add(j.node);
  }
}

async function addNbdTlsCreds(qmp: QmpExecutor, dir: string): Promise<void> {
  await objectDel(qmp, { id: NBD_TLS_OBJECT_ID }).catch(() => undefined);
  await objectAdd(qmp, {
    'qom-type': 'tls-creds-x509',
    id: NBD_TLS_OBJECT_ID,
    dir,
    endpoint: 'client',
    'verify-peer': true,
  });
}
