// Source, live-copy rollback: force-cancels the mirrors still running and closes the NBD
// client nodes. The guest's disk I/O never waits for this (a background mirror only marks
// guest writes dirty), but a mirror whose target went silent keeps its in-flight NBD
// requests until TCP gives up on them, and its node cannot be closed before. So the wait is
// bounded; what is left is closed later by a janitor, and the report says so.
import { blockdevDel, blockJobCancel, objectDel, queryBlockJobs } from '../../../qmp/index.js';
import { NBD_TLS_OBJECT_ID } from './attach-nbd-targets.js';
import type { Mirrors } from './mirror-jobs.js';

export async function cancelMirrors(m: Mirrors, waitMs = 10_000): Promise<string[]> {
  for (const id of m.started) await blockJobCancel(m.qmp, { device: id, force: true }).catch(() => undefined);
  const until = Date.now() + waitMs;
  while (Date.now() < until && (await runningJobs(m)).length) await new Promise((r) => setTimeout(r, 100));
  await closeNodes(m);
  if (!m.attached.size && !(await runningJobs(m)).length) {
    m.close();
    return [];
  }
  void janitor(m);
  return [
    `the NBD client node(s) ${[...m.attached].join(', ')} wait for TCP to give up on the silent target; they are closed in the background`,
  ];
}

async function runningJobs(m: Mirrors): Promise<string[]> {
  const live = await queryBlockJobs(m.qmp).catch(() => []);
  return live.map((j) => j.device).filter((d) => m.started.has(d));
}

async function closeNodes(m: Mirrors): Promise<void> {
  for (const node of [...m.attached]) {
    try {
      await blockdevDel(m.qmp, { 'node-name': node });
      m.attached.delete(node);
    } catch {
      // Still used by a job that waits for its NBD requests; the janitor retries.
    }
  }
  if (!m.attached.size) await objectDel(m.qmp, { id: NBD_TLS_OBJECT_ID }).catch(() => undefined);
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
