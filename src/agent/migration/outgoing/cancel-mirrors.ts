// Source, live-copy rollback: ends the mirrors and closes the NBD client nodes. On QEMU 7.2
// an NBD request to a target that went silent (link cut: no RST, no FIN) stays in flight
// until TCP gives up (~15 min), and cancelling the job then stalls QEMU's main loop and with
// it the guest's disk I/O. So the NBD connections are closed first, from outside (ss -K):
// the requests fail at once (reconnect-delay 0), the jobs end, and the nodes can go.
import { blockdevDel, blockJobCancel, queryBlockJobs, type QmpSession } from '../../../qmp/index.js';
import { destroySockets } from '../../tools/ss.js';
import { mirrorJobs, NBD_TLS_OBJECT_ID, type Mirrors } from './mirror-jobs.js';
import { pollUntil } from '../../poll-until.js';
import { deleteObject } from './start-migration.js';
import { isAlreadyGone } from './undo-list.js';

const QUICK = { timeoutMs: 5_000 };

/**
 * Resolves with notes for the journal about anything left to the background; rejects with the
 * first QMP failure once everything was tried (a job or node that is already gone is no failure).
 */
export async function cancelMirrors(m: Mirrors, waitMs = 10_000): Promise<string[]> {
  const notes: string[] = [];
  const errors: unknown[] = [];
  if (m.server && (m.started.size || m.attached.size)) {
    try {
      const n = await destroySockets(m.server.address, m.server.port);
      if (n) notes.push(`closed ${n} NBD connection(s) to ${m.server.address}:${m.server.port}`);
    } catch (e) {
      notes.push(`could not close the NBD connections from outside (ss -K): ${(e as Error).message}`);
    }
  }
  for (const id of [...m.started]) {
    try {
      await blockJobCancel(m.qmp, { device: id, force: true }, QUICK);
    } catch (e) {
      if (isAlreadyGone(e)) m.started.delete(id);
      else errors.push(e);
    }
  }
  await pollUntil(async () => ((await runningJobs(m)).length ? undefined : true), {
    intervalMs: 100,
    deadlineMs: waitMs,
  });
  await closeNodes(m).catch((e: unknown) => errors.push(e));
  if (m.attached.size || (await runningJobs(m)).length) {
    void janitor(m);
    notes.push(
      `the NBD client node(s) ${[...m.attached].join(', ')} wait for TCP to give up on the silent target; they are closed in the background`,
    );
  } else m.close();
  if (errors.length) throw errors[0];
  return notes;
}

async function runningJobs(m: Mirrors): Promise<string[]> {
  // A monitor that does not answer is asked again by the caller's next poll: no job is assumed.
  const live = await queryBlockJobs(m.qmp, QUICK).catch(() => []);
  return live.map((j) => j.device).filter((d) => m.started.has(d));
}

/** Deletes what it can; a node still used by a job waiting for its NBD requests stays for the janitor. */
async function closeNodes(m: Mirrors): Promise<void> {
  for (const node of [...m.attached]) {
    try {
      await blockdevDel(m.qmp, { 'node-name': node }, QUICK);
      m.attached.delete(node);
    } catch (e) {
      if (isAlreadyGone(e)) m.attached.delete(node);
    }
  }
  if (!m.attached.size && m.tlsObject) {
    await deleteObject(m.qmp, NBD_TLS_OBJECT_ID);
    m.tlsObject = false;
  }
}

/** Retries for up to 30 minutes (beyond Linux's default TCP retransmission give-up of ~15). */
async function janitor(m: Mirrors): Promise<void> {
  const until = Date.now() + 30 * 60_000;
  while ((m.attached.size || m.tlsObject) && Date.now() < until && !m.qmp.isClosed) {
    await new Promise((r) => setTimeout(r, 2_000));
    // Retried on the next round; what is still there after 30 minutes was named in the journal note.
    await closeNodes(m).catch(() => undefined);
  }
  m.close();
}

/**
 * After an agent restart before the commit: the mirrors and NBD nodes of job `jobId` outlived
 * the agent inside QEMU (their names are derived from the job id); they end before the RAM
 * cancel, as in a rollback. Missing ones are no failure.
 */
export async function cancelLeftoverMirrors(
  qmp: QmpSession,
  jobId: string,
  targets: readonly string[],
): Promise<string[]> {
  const m = mirrorJobs(qmp, jobId, targets);
  for (const j of m.jobs) {
    m.started.add(j.jobId);
    m.attached.add(j.node);
  }
  m.tlsObject = m.jobs.length > 0;
  return cancelMirrors(m, 10_000);
}
