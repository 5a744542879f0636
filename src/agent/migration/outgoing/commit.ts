// Source: ask the target to commit (write "target owns the VM", then resume). A refusal is
// a known outcome: the target never resumed and the source may run again. No answer is
// not: finish is retried (it is idempotent on the target) until a deadline, and if the
// outcome is still unknown the source stays paused for an operator. Nothing is guessed.
// Post-copy's early commit (`ask`: peer.postcopy(job, 'commit')) follows the same rules.
import { isVmhopError } from '../../../protocol/errors.js';
import type { PeerLink } from '../../peers/peer-link.js';

export type CommitOutcome =
  | { committed: true; at: number }
  | { committed: false; known: true; error: Error }
  | { committed: false; known: false; error: Error };

export async function commitOnTarget(
  peer: PeerLink,
  jobId: string,
  deadlineMs = 60_000,
  ask: () => Promise<unknown> = () => peer.finish(jobId),
): Promise<CommitOutcome> {
  const until = Date.now() + deadlineMs;
  let lastError: Error = new Error('no attempt');
  for (let attempt = 0; attempt < 120 && Date.now() < until; attempt++) {
    try {
      await ask();
      return { committed: true, at: Date.now() };
    } catch (e) {
      lastError = e as Error;
      if (isVmhopError(e) && e.details.outcomeKnown === true)
        return { committed: false, known: true, error: e };
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  return { committed: false, known: false, error: lastError };
}
