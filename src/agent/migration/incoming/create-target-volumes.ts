// Target, live-copy: creates the empty volumes the source's mirrors fill (same virtual size
// and format, thin; for an incremental copy a qcow2 overlay on the base that already lies in
// the target pool). Each is recorded as the job's artifact before the next one is made, so a
// failure anywhere deletes exactly these and never a volume that was there before.
import type { MigrationContext } from '../context.js';
import type { CopiedDisk } from '../../peers/peer-link.js';

export const volumeRef = (d: { pool: string; volume: string }) => `${d.pool}/${d.volume}`;

export async function createTargetVolumes(
  c: MigrationContext,
  jobId: string,
  disks: readonly CopiedDisk[],
): Promise<void> {
  for (const d of disks) {
    // Thin provisioning is the point: the copy writes only what the source holds.
    await c.storage.createVolume(
      d.pool,
      {
        name: d.volume,
        format: d.format,
        sizeBytes: d.sizeBytes,
        ...(d.backingVolume ? { backingVolume: d.backingVolume } : {}),
      },
      { allowOvercommit: true },
    );
    c.jobs.addArtifact(jobId, 'volume', volumeRef(d));
  }
}

export async function deleteTargetVolume(c: MigrationContext, ref: string): Promise<void> {
  const slash = ref.indexOf('/');
  await c.storage.deleteVolume(ref.slice(0, slash), ref.slice(slash + 1));
}
