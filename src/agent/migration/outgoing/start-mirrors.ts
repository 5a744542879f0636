// Source, live-copy: one blockdev-mirror per disk into its NBD node: `full` copies the whole
// chain, `top` only the overlay (the base is on the target). --bandwidth caps the copy like
// the RAM stream; zero areas travel as NBD write-zeroes and do not count against it.
import { blockdevMirror } from '../../../qmp/index.js';
import type { CopyMode } from './choose-copy-mode.js';
import type { Mirrors } from './mirror-jobs.js';

export async function startMirrors(
  m: Mirrors,
  opts: { sync: (target: string) => 'full' | 'top'; copyMode: CopyMode; speedBps: number },
): Promise<void> {
  for (const j of m.jobs) {
    // Recorded first: the rollback cancels a job whose reply was lost too (a missing one is no failure).
    m.started.add(j.jobId);
    await blockdevMirror(m.qmp, {
      'job-id': j.jobId,
      device: `drive-${j.target}`,
      target: j.node,
      sync: opts.sync(j.target),
      speed: opts.speedBps,
      'copy-mode': opts.copyMode,
      // A failed target write ends the job with the error instead of pausing the guest's disk.
      'on-target-error': 'report',
      'on-source-error': 'report',
    });
  }
}
