// Source, live-copy, at the pre-switchover pause (vCPUs stopped, nothing writes): ends every
// READY mirror with block-job-cancel, which in QEMU 7.2 first copies what is still dirty and
// then reports BLOCK_JOB_COMPLETED without pivoting, so the target disks equal the source's at
// this instant and the source keeps its own. Then the NBD client nodes are closed, so the
// target can stop its NBD server before it resumes the guest.
import { blockdevDel, blockJobCancel, queryBlockJobs } from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';
import { NBD_TLS_OBJECT_ID, type Mirrors } from './mirror-jobs.js';
import { pollUntil } from '../../poll-until.js';
import { deleteObject } from './start-migration.js';

/** Resolves with the bytes each mirror handled in all (its final job length) and notes for the journal. */
export async function completeMirrors(
  m: Mirrors,
  timeoutMs = 60_000,
): Promise<{ lengths: Record<string, number>; notes: string[] }> {
  const lengths: Record<string, number> = {};
  for (const job of await queryBlockJobs(m.qmp)) {
    const j = m.jobs.find((x) => x.jobId === job.device);
    if (!j) continue;
    if (!job.ready)
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_FAILED',
        `the copy of disk ${j.target} is no longer in sync`,
        {},
      );
    lengths[j.target] = job.len;
  }
  for (const j of m.jobs) await blockJobCancel(m.qmp, { device: j.jobId });
  const until = Date.now() + timeoutMs;
  for (const j of m.jobs) {
    const ended = await pollUntil(() => (m.ended.has(j.jobId) ? true : undefined), {
      intervalMs: 20,
      deadlineMs: Math.max(0, until - Date.now()),
    });
    if (!ended)
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_FAILED',
        `the copy of disk ${j.target} did not finish its last pass within ${timeoutMs / 1000} s`,
        { disk: j.target },
      );
    const end = m.ended.get(j.jobId);
    if (end?.event !== 'completed' || end.error) {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_FAILED',
        `the last pass of the copy of disk ${j.target} failed: ${end?.error ?? end?.event}`,
        { disk: j.target },
      );
    }
    m.started.delete(j.jobId);
  }
  for (const j of m.jobs) {
    await blockdevDel(m.qmp, { 'node-name': j.node });
    m.attached.delete(j.node);
  }
  const notes: string[] = [];
  if (m.tlsObject) {
    // Left in place, the object costs nothing and the next job's object-add replaces it; the
    // guest is stopped here, so a failure is noted rather than failing the migration.
    await deleteObject(m.qmp, NBD_TLS_OBJECT_ID).then(
      () => (m.tlsObject = false),
      (e: unknown) => notes.push(`the NBD TLS object ${NBD_TLS_OBJECT_ID} stays: ${(e as Error).message}`),
    );
  }
  return { lengths, notes };
}
