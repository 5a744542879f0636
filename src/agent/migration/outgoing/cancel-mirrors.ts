// Source, live-copy rollback: ends the mirrors and closes the NBD client nodes. On QEMU 7.2
// an NBD request to a target that went silent (link cut: no RST, no FIN) stays in flight
// until TCP gives up (~15 min), and cancelling the job then stalls QEMU's main loop and with
// it the guest's disk I/O. So the NBD connections are closed first, from outside (ss -K):
// the requests fail at once (reconnect-delay 0), the jobs end, and the nodes can go.
import { blockdevDel, blockJobCancel, objectDel, queryBlockJobs } from '../../../qmp/index.js';
import { destroySockets } from '../../tools/ss.js';
import { NBD_TLS_OBJECT_ID } from './attach-nbd-targets.js';
import type { Mirrors } from './mirror-jobs.js';
import { pollUntil } from '../../poll-until.js';

const QUICK = { timeoutMs: 5_000 };

/** Resolves with notes for the journal about anything it could not remove. */
export async function cancelMirrors(m: Mirrors, waitMs = 10_000): Promise<string[]> {
  const notes: string[] = [];
  if (m.server && (m.started.size || m.attached.size)) {
    const n = await destroySockets(m.server.address, m.server.port).catch(() => 0);
    if (n) notes.push(`closed ${n} NBD connection(s) to ${m.server.address}:${m.server.port}`);
  }
  for (const id of m.started)
    await blockJobCancel(m.qmp, { device: id, force: true }, QUICK).catch(() => undefined);
  await pollUntil(async () => ((await runningJobs(m)).length ? undefined : true), {
    intervalMs: 100,
    deadlineMs: waitMs,
  });
  await closeNodes(m);
  if (!m.attached.size && !(await runningJobs(m)).length) {
    m.close();
    return notes;
  }
  void janitor(m);
  return [
    ...notes,
    `the NBD client node(s) ${[...m.attached].join(', ')} wait for TCP to give up on the silent target; they are closed in the background`,
  ];
}

async function runningJobs(m: Mirrors): Promise<string[]> {
  const live = await queryBlockJobs(m.qmp, QUICK).catch(() => []);
  return live.map((j) => j.device).filter((d) => m.started.has(d));
}

async function closeNodes(m: Mirrors): Promise<void> {
  for (const node of [...m.attached]) {
    try {
      await blockdevDel(m.qmp, { 'node-name': node }, QUICK);
      m.attached.delete(node);
    } catch {
      // Still used by a job that waits for its NBD requests; the janitor retries.
    }
  }
  if (!m.attached.size) await objectDel(m.qmp, { id: NBD_TLS_OBJECT_ID }, QUICK).catch(() => undefined);
}

/** Retries for up to 30 minutes (beyond Linux's default TCP retransmission give-up of ~15). */
async function janitor(m: Mirrors): Promise<void> {
  const until = Date.now() + 30 * 60_000;
  while (m.attached.size && Date.now() < until && !m.qmp.isClosed) {
    await new Promise((r) => setTimeout(r, 2_000));
    await closeNodes(m).catch(() => undefined);
  }
  m.close();
}
