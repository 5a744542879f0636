// Source: ask the target to commit (write "target owns the VM", then resume). A refusal is
// a known outcome: the target never resumed and the source may run again. No answer is
// not: finish is retried (it is idempotent on the target) until a deadline, and if the
// outcome is still unknown the source stays paused for an operator. Nothing is guessed.
// Post-copy's early commit (`ask`: peer.postcopy(job, 'commit')) follows the same rules.
import { isVmhopError } from '../../../protocol/errors.js';
import { FinishReply, type PeerLink } from '../../peers/peer-link.js';

export type CommitOutcome =
  | {
      committed: true;
      /** When the answer came. */
      at: number;
      /** When the target resumed the guest, on this host's clock; absent when it did not say. */
      resumedAt?: number;
      /** The target committed but could not resume the guest. */
      resumeError?: string;
    }
  | { committed: false; known: true; error: Error }
  | { committed: false; known: false; error: Error };

/** `job`: its id and the protocol version its messages carry. */
export async function commitOnTarget(
  peer: PeerLink,
  job: { id: string; protocolVersion: number },
  deadlineMs = 60_000,
  ask: () => Promise<unknown> = () => peer.finish(job.id, job.protocolVersion),
): Promise<CommitOutcome> {
  const until = Date.now() + deadlineMs;
  let lastError: Error = new Error('no attempt');
  for (let attempt = 0; attempt < 120 && Date.now() < until; attempt++) {
    try {
      const sentAt = Date.now();
      const reply = FinishReply.safeParse(await ask());
      const at = Date.now();
      return { committed: true, at, ...(reply.success ? resumeOf(reply.data, sentAt, at) : {}) };
    } catch (e) {
      lastError = e as Error;
      if (isVmhopError(e) && e.details.outcomeKnown === true)
        return { committed: false, known: true, error: e };
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  return { committed: false, known: false, error: lastError };
}

/**
 * The target's resume on this host's clock: the request took half of the round trip that the
 * target did not spend handling it to arrive, then the target resumed `resumedAfterMs` later.
 */
export function resumeOf(
  r: FinishReply,
  sentAt: number,
  at: number,
): { resumedAt?: number; resumeError?: string } {
  const out: { resumedAt?: number; resumeError?: string } = r.resumeError
    ? { resumeError: r.resumeError }
    : {};
  if (r.resumedAfterMs === undefined || r.handledMs === undefined) return out;
  const oneWay = Math.max(0, (at - sentAt - r.handledMs) / 2);
  return { ...out, resumedAt: Math.min(at, Math.round(sentAt + oneWay + r.resumedAfterMs)) };
}
