// Source, live-copy (F23): whether the disk mirrors converge, and what the job's policy does when
// they do not. A mirror that is not READY holds `len - offset` bytes still to copy (the initial
// copy plus what the guest wrote since); when over a window that has not shrunk, or the mirror
// copied no more than the guest wrote (query-blockstats), the guest writes faster than it drains. The policy then switches the mirrors to
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

/** One sample: bytes the mirrors still hold, bytes they copied, bytes the guest wrote (all disks). */
export interface MirrorSample {
  at: number;
  left: number;
  copied: number;
  written: number;
}

export class MirrorJudge {
  private samples: MirrorSample[] = [];

  constructor(private readonly windowMs = mirrorWindowMs) {}

  /**
   * Returns why the mirrors do not converge, once over the window the guest wrote and either the
   * bytes left did not shrink, or the mirrors copied no more than the guest wrote (a mirror that
   * keeps up is READY at once; one that only chases the guest's writes never gets there). A guest
   * that writes nothing leaves a stuck copy to the stall watchdog. Write-blocking mirrors are
   * judged by the bytes left alone.
   */
  observe(now: MirrorSample, mode: CopyMode = 'background'): string | undefined {
    this.samples.push(now);
    const old = this.samples.filter((s) => s.at <= now.at - this.windowMs);
    if (old.length === 0) return undefined;
    this.samples = this.samples.slice(old.length - 1);
    const then = old.at(-1)!;
    const written = now.written - then.written;
    const copied = now.copied - then.copied;
    const secs = Math.round((now.at - then.at) / 1000);
    if (written <= 0) return undefined;
    if (now.left > 0 && now.left >= then.left)
      return `the disk copy did not shrink in ${secs} s (${mib(then.left)} -> ${mib(now.left)} MiB left) while the guest wrote ${mib(written)} MiB: it writes faster than the mirror drains`;
    // Write-blocking copies each guest write as it happens (how QEMU counts those in `offset` is
    // not relied on): what it must show is the bytes left shrinking.
    if (mode === 'background' && copied <= written)
      return `in ${secs} s the guest wrote ${mib(written)} MiB and the mirror copied ${mib(copied)} MiB without catching up: it writes faster than the mirror drains`;
    return undefined;
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
