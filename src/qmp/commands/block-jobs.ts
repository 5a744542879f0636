// Block job commands used for storage migration: blockdev-mirror starts a mirror, query-block-jobs
// reports progress, block-job-complete pivots the guest to the target, block-job-cancel stops it.
// Cancelling a *ready* mirror is how a migration ends it without pivoting: QEMU then reports
// BLOCK_JOB_COMPLETED (not CANCELLED) and the target holds a consistent copy.

import type { QmpCommandOptions, QmpExecutor } from '../session.js';
import type { BlockdevMirrorArgs, BlockJobInfo } from './block-job-types.js';

export function queryBlockJobs(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<BlockJobInfo[]> {
  return qmp.execute<BlockJobInfo[]>('query-block-jobs', undefined, options);
}

/** Returns once the job exists; wait for BLOCK_JOB_READY before completing or migrating RAM. */
export async function blockdevMirror(
  qmp: QmpExecutor,
  args: BlockdevMirrorArgs,
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('blockdev-mirror', { ...args }, options);
}

/** `device` is the job id. `force: true` cancels a ready mirror without the final sync. */
export async function blockJobCancel(
  qmp: QmpExecutor,
  args: { device: string; force?: boolean },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('block-job-cancel', { ...args }, options);
}

/** Only for a ready job; the pivot happens asynchronously and ends with BLOCK_JOB_COMPLETED. */
export async function blockJobComplete(
  qmp: QmpExecutor,
  args: { device: string },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('block-job-complete', { ...args }, options);
}
