// What a job moves: a VM (its name) or one volume (`vmhop vol-copy POOL/VOL`). A job row keeps
// either in its `vm` column; a volume as `POOL/VOL`, which no VM name can be (names have no
// slash), so the two never collide in `runningFor` and the job list.
import type { JobRow } from '../db/job-store.js';

export type JobSubject =
  { kind: 'vm'; vm: string } | { kind: 'volume'; pool: string; volume: string; key: string };

/** The key a volume copy's job is filed under: `POOL/VOL`. */
export const volumeJobKey = (pool: string, volume: string): string => `${pool}/${volume}`;

export function subjectOf(job: Pick<JobRow, 'vm'>): JobSubject {
  const slash = job.vm.indexOf('/');
  if (slash < 0) return { kind: 'vm', vm: job.vm };
  return { kind: 'volume', pool: job.vm.slice(0, slash), volume: job.vm.slice(slash + 1), key: job.vm };
}
