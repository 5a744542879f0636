// Source, after the switch to post-copy: the guest runs on the target and fetches the pages it
// still lacks from here, so this QEMU must live until QEMU says `completed`. A stream that stops
// moving (a silent link drop: TCP would wait for minutes) is paused on both ends, and once the
// target's migration address answers again it is resumed on a new listener (migrate-recover on
// the target, `migrate resume` here). The source is never resumed: its state is older than the
// target's. When recovery is impossible for recoveryWindowMs the job needs an operator.
import net from 'node:net';
import {
  migrate,
  migratePause,
  queryMigrate,
  type MigrationInfo,
  type QmpExecutor,
} from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';
import type { PeerLink } from '../../peers/peer-link.js';
import { DEFAULT_MIGRATION_PORTS, probePortOf, type MigrationPorts } from '../wire/ports.js';

export interface FollowPostcopy {
  peer: PeerLink;
  jobId: string;
  /** The version the job's messages carry. */
  protocolVersion: number;
  /** The target's migration address. */
  address: string;
  /** The target's migration port range (its prepare reply); an older target's is the default. */
  targetPorts?: MigrationPorts;
  stallTimeoutMs: number;
  onSample: (info: MigrationInfo, at: number) => void;
  journal: (text: string) => void;
  /** How long the stream may stay paused before an operator is needed. */
  recoveryWindowMs?: number;
  /** How long a resumed stream may stay in postcopy-recover (default max(10 s, 3 stall timeouts)). */
  recoverStallMs?: number;
  intervalMs?: number;
}

export const defaultRecoveryWindowMs = 30 * 60_000;

/** How long a resumed stream may stay in postcopy-recover before it is paused and tried again. */
const recoverStallMs = (f: FollowPostcopy) => f.recoverStallMs ?? Math.max(10_000, 3 * f.stallTimeoutMs);

export async function followPostcopy(
  qmp: QmpExecutor,
  f: FollowPostcopy,
): Promise<{ last: MigrationInfo; recoveries: number }> {
  const window = f.recoveryWindowMs ?? defaultRecoveryWindowMs;
  let lastBytes = -1;
  let lastMoveAt = Date.now();
  let pausedSince: number | undefined;
  let recoverSince: number | undefined;
  let recoveries = 0;
  // Bounded: every turn either sees bytes move, or counts towards the stall timeout and then the
  // recovery window, both of which end the loop.
  for (;;) {
    const info = await queryMigrate(qmp);
    const now = Date.now();
    f.onSample(info, now);
    const st = info.status;
    if (st === 'completed') return { last: info, recoveries };
    if (!st?.startsWith('postcopy-') || st === 'postcopy-active') pausedSince = undefined;
    if (st !== 'postcopy-recover' && st !== 'postcopy-recover-setup') recoverSince = undefined;
    if (st === 'postcopy-active' || st === 'device') {
      const bytes = info.ram?.transferred ?? 0;
      if (bytes !== lastBytes) {
        lastBytes = bytes;
        lastMoveAt = now;
      } else if (now - lastMoveAt > f.stallTimeoutMs && st === 'postcopy-active') {
        f.journal(`no post-copy progress for ${Math.round((now - lastMoveAt) / 1000)} s: pausing the stream`);
        await migratePause(qmp).catch((e: unknown) => f.journal(`migrate-pause: ${(e as Error).message}`));
      }
    } else if (st === 'postcopy-paused') {
      pausedSince ??= now;
      if (now - pausedSince > window) throw stuck(f, info, `paused for ${Math.round(window / 60_000)} min`);
      const attempt = await recover(qmp, f);
      if (attempt === 'resumed') {
        recoveries += 1;
        lastMoveAt = Date.now();
      } else if (attempt !== 'not-yet') {
        // Asking again cannot help: the target's job is over. Every page arrived there only if it
        // completed; otherwise the operator must look at once, not after the recovery window.
        if (attempt.ended === 'completed') return { last: info, recoveries };
        throw stuck(f, info, `the target's job ended ${attempt.ended} while this end waits to resume`);
      }
    } else if (st === 'postcopy-recover' || st === 'postcopy-recover-setup') {
      pausedSince ??= now;
      recoverSince ??= now;
      if (now - pausedSince > window)
        throw stuck(f, info, `not recovered in ${Math.round(window / 60_000)} min`);
      // A resumed stream that never gets going (its listener went with a restarted agent, or the
      // link dropped again) is paused once more, so the next turn recovers on a new listener
      // instead of waiting out the whole window in this state.
      if (now - recoverSince > recoverStallMs(f)) {
        f.journal(
          `post-copy recovery did not start moving in ${Math.round((now - recoverSince) / 1000)} s: pausing to try again`,
        );
        recoverSince = undefined;
        await migratePause(qmp).catch((e: unknown) => f.journal(`migrate-pause: ${(e as Error).message}`));
      }
    } else {
      throw stuck(
        f,
        info,
        `QEMU reports ${st ?? 'no migration'}: ${info['error-desc'] ?? 'no reason given'}`,
      );
    }
    await new Promise((r) => setTimeout(r, st === 'postcopy-paused' ? 1_000 : (f.intervalMs ?? 250)));
  }
}

/**
 * One recovery attempt, only when the target's migration address answers: `resumed`, `not-yet`
 * (try again), or the state in which the target's job already ended.
 */
async function recover(
  qmp: QmpExecutor,
  f: FollowPostcopy,
): Promise<'resumed' | 'not-yet' | { ended: string }> {
  // Just below the target's range, so the probe can never be taken for the resumed stream.
  // Refused or accepted, an answer proves the path; silence does not.
  const probe = probePortOf(f.targetPorts ?? DEFAULT_MIGRATION_PORTS);
  if (!(await reachable(f.address, probe, 1_000))) return 'not-yet';
  try {
    // The target may not have noticed a silent drop: pause its end first (a paused end stays paused).
    await f.peer.postcopy(f.jobId, 'pause', f.protocolVersion);
    const at = await f.peer.postcopy(f.jobId, 'recover', f.protocolVersion);
    if (!at.address || !at.port) throw new Error('the target named no listener');
    await migrate(qmp, { uri: `tcp:${at.address}:${at.port}`, resume: true });
    f.journal(`post-copy resumed on ${at.address}:${at.port}`);
    return 'resumed';
  } catch (e) {
    f.journal(`post-copy recovery attempt failed: ${(e as Error).message}`);
    if (e instanceof VmhopError && e.code === 'VMHOP_ERR_JOB_ENDED')
      return { ended: String((e.details as { state?: unknown }).state ?? 'unknown') };
    return 'not-yet';
  }
}

/** A TCP answer of any kind (accept or refusal) proves the path to the target works. */
export function reachable(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: address, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED'));
  });
}

function stuck(f: FollowPostcopy, info: MigrationInfo, why: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN',
    `post-copy cannot finish (${why}): the guest runs on \`${f.peer.name}\` but pages it has not fetched are only in the source QEMU, which is kept; restore the migration link, then check \`vmhop job show ${f.jobId}\``,
    { job: f.jobId, status: info.status },
  );
}
