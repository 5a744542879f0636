// Source, live-copy (F23): whether the disk mirrors converge, and what the job's policy does when
// they do not. A mirror that is not READY holds `len - offset` bytes still to copy (the initial
// copy plus what the guest wrote since); when that has not shrunk at all over a window, the
// guest writes faster than the mirror drains. The policy then switches the mirrors to
// write-blocking (block-job-change: each guest write waits for the target, which converges), or
// ends the copy with the source running. Judged from samples; acting is the caller's.
import { VmhopError } from '../../../protocol/errors.js';
import type { MigrationOptions } from '../../../protocol/migration.js';
import { blockJobChange } from '../../../qmp/index.js';
import { policyOf } from '../policy.js';
import type { CopyMode } from './choose-copy-mode.js';
import type { Mirrors } from './mirror-jobs.js';

/** How long the bytes left must fail to shrink before the mirrors are judged not to converge, ms. */
export const mirrorWindowMs = 5_000;

const mib = (b: number) => (b / 1048576).toFixed(1);

export class MirrorJudge {
  private samples: { at: number; left: number }[] = [];

  constructor(private readonly windowMs = mirrorWindowMs) {}

  /** Bytes left over all mirrors at `at`; returns why they do not converge, once they do not. */
  observe(left: number, at: number): string | undefined {
    this.samples.push({ at, left });
    const old = this.samples.filter((s) => s.at <= at - this.windowMs);
    if (old.length === 0) return undefined;
    this.samples = this.samples.slice(old.length - 1);
    const then = old.at(-1)!;
    // Any shrink counts: the first copy of a large disk over a slow link shrinks slowly but surely.
    if (left < then.left) return undefined;
    return `the disk copy did not shrink in ${Math.round((at - then.at) / 1000)} s (${mib(then.left)} -> ${mib(left)} MiB left): the guest writes faster than the mirror drains`;
  }

  /** After an action: judge afresh from now. */
  reset(): void {
    this.samples = [];
  }
}

/**
 * The policy's answer to mirrors that do not converge: write-blocking when it may slow the guest
 * and the mirrors run in background; otherwise (or when QEMU cannot change a running mirror) an
 * error that ends the job with the source running. Resolves with the note of what it did, or
 * undefined when the policy leaves it to --timeout (manual).
 */
export async function actOnMirrors(
  m: Mirrors,
  options: MigrationOptions,
  mode: CopyMode,
  why: string,
): Promise<string | undefined> {
  const policy = policyOf(options);
  if (!policy?.judge) return undefined;
  const mayBlock = policy.throttle !== 'never' && mode === 'background';
  if (mayBlock) {
    try {
      for (const j of m.jobs)
        await blockJobChange(m.qmp, { id: j.jobId, type: 'mirror', 'copy-mode': 'write-blocking' });
      return `switched the disk mirrors to write-blocking (policy ${policy.name}): ${why}; guest writes now wait for the target`;
    } catch (e) {
      throw ended(
        policy.name,
        `${why}, and QEMU could not switch the mirrors to write-blocking (${(e as Error).message})`,
      );
    }
  }
  throw ended(
    policy.name,
    mode === 'write-blocking'
      ? `${why}, even in write-blocking mode`
      : `${why}; the policy does not slow the guest`,
  );
}

function ended(policy: string, reason: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_MIGRATION_FAILED',
    `policy ${policy} ended the migration with the source running: ${reason}; lower the guest's disk writes, raise --bandwidth, or migrate with --policy finish (write-blocking mirrors)`,
    { policy, reason },
  );
}
