// Source, live-copy: opens one NBD client node per copied disk on the target's export, over
// TLS (its own x509 object: the RAM stream's is replaced by start-migration while these
// nodes hold theirs). reconnect-delay 0 fails requests as soon as the connection is known
// lost instead of holding guest-visible work for a reconnect; keep-alive lets an idle
// connection to a vanished target be noticed at all. Its undo (and the mirrors') is
// cancel-mirrors.ts, registered before the first node is asked for.
import { blockdevAdd, objectAdd, type QmpExecutor } from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';
import type { PrepareReply } from '../../peers/peer-link.js';
import { cancelMirrors } from './cancel-mirrors.js';
import { NBD_TLS_OBJECT_ID, type Mirrors } from './mirror-jobs.js';
import { deleteObject } from './start-migration.js';
import type { UndoEntry, UndoList } from './undo-list.js';

/** Resolves with the undo entry of the mirror set (ss -K, block-job-cancel, blockdev-del, object-del). */
export async function attachNbdTargets(
  m: Mirrors,
  target: PrepareReply,
  tlsDir: string | undefined,
  undo: UndoList,
): Promise<UndoEntry | undefined> {
  if (!m.jobs.length) return undefined; // every disk is on a shared pool: nothing to copy
  const nbd = target.nbd;
  const missing = m.jobs.filter((j) => !nbd?.exports.some((e) => e.target === j.target)).map((j) => j.target);
  if (!nbd || missing.length) {
    throw new VmhopError(
      'VMHOP_ERR_PEER_PROTOCOL',
      `the target exported no NBD export for disk(s) ${missing.join(', ')}: run the same vmhop version on both hosts`,
      { missing },
    );
  }
  const entry = undo.add(
    `disk mirrors and NBD client nodes to ${target.address}:${nbd.port} (block-job-cancel, blockdev-del, object-del)`,
    () => cancelMirrors(m),
  );
  m.server = { address: target.address, port: nbd.port };
  if (tlsDir) {
    m.tlsObject = true;
    await addNbdTlsCreds(m.qmp, tlsDir);
  }
  for (const j of m.jobs) {
    const exp = nbd.exports.find((e) => e.target === j.target)!;
    m.attached.add(j.node);
    await blockdevAdd(m.qmp, {
      driver: 'nbd',
      'node-name': j.node,
      server: { type: 'inet', host: target.address, port: String(nbd.port), 'keep-alive': true },
      export: exp.name,
      'reconnect-delay': 0,
      ...(tlsDir ? { 'tls-creds': NBD_TLS_OBJECT_ID, 'tls-hostname': target.address } : {}),
    });
  }
  return entry;
}

async function addNbdTlsCreds(qmp: QmpExecutor, dir: string): Promise<void> {
  // One left by an earlier job whose clean-up could not finish (its janitor gave up) would make object-add fail.
  await deleteObject(qmp, NBD_TLS_OBJECT_ID);
  await objectAdd(qmp, {
    'qom-type': 'tls-creds-x509',
    id: NBD_TLS_OBJECT_ID,
    dir,
    endpoint: 'client',
    'verify-peer': true,
  });
}
