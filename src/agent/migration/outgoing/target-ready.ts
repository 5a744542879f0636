// Source, at the pre-switchover pause, before anything can commit: the target's agent must
// answer at once and still run its side of the job. Nothing has asked it to commit yet, so a
// silent or finished target here is a known outcome: the mode rolls back and the guest runs on
// the source again after a pause of this timeout, instead of sitting paused for the minute the
// commit's retries take and ending `needs-operator` (a frozen target agent did that: 44.5 s).
import { VmhopError } from '../../../protocol/errors.js';
import type { PeerLink } from '../../peers/peer-link.js';

/** How long the target's agent has to answer at the pause (a round trip is milliseconds on a LAN). */
export const TARGET_READY_TIMEOUT_MS = 2_000;

export async function confirmTargetReady(
  peer: PeerLink,
  jobId: string,
  timeoutMs = TARGET_READY_TIMEOUT_MS,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  let state: string;
  try {
    state = (await Promise.race([peer.job(jobId), late])).state;
  } catch (e) {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_FAILED',
      `the agent of \`${peer.name}\` did not confirm it is ready at the switchover (${(e as Error).message}); nothing was committed, so the VM runs on the source again: check \`${peer.name}\` and migrate again`,
      { job: jobId, peer: peer.name },
    );
  } finally {
    clearTimeout(timer);
  }
  if (state !== 'running') {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_FAILED',
      `\`${peer.name}\` ended its side of job ${jobId} (${state}) before the switchover; nothing was committed, so the VM runs on the source again`,
      { job: jobId, peer: peer.name, state },
    );
  }
}
