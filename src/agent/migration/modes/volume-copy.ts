// `vmhop vol-copy POOL/VOL --to HOST`: one volume (with its backing chain, or a block device
// dumped to an image) copied exactly like an offline migration copies a disk, as a job named
// `POOL/VOL` (never a VM name: those have no slash), so progress, cancel and resume are the
// same. How a base image gets to a host before an incremental live migration.
import { rm } from 'node:fs/promises';
import { VmhopError, isVmhopError } from '../../../protocol/errors.js';
import type { Progress } from '../../../protocol/migration.js';
import { DiskSpec } from '../../../protocol/vm-spec.js';
import type { JobRow } from '../../db/job-store.js';
import type { PeerLink } from '../../peers/peer-link.js';
import type { MigrationContext } from '../context.js';
import type { JobSubject } from '../job-subject.js';
import { copyItems } from '../outgoing/copy-items.js';
import { dumpBlockDevices } from '../outgoing/dump-block-device.js';
import { planOffline } from '../outgoing/plan-offline.js';
import { figureNotes, stagingDirOf, undoOffline } from './offline.js';
import type { ModeResult } from './types.js';
import { assertManifestsFit } from '../outgoing/manifest-size.js';

export async function runVolumeCopy(r: {
  c: MigrationContext;
  job: JobRow;
  subject: Extract<JobSubject, { kind: 'volume' }>;
  peer: PeerLink;
  signal: AbortSignal;
  onProgress: (p: Partial<Progress>) => void;
}): Promise<ModeResult> {
  const { c, job, peer } = r;
  const { pool, volume } = r.subject;
  const info = await c.storage.volumeInfo(pool, volume);
  const staging = stagingDirOf(c, job.id);
  // The volume is planned as the one disk of a job named POOL/VOL.
  const disk = DiskSpec.parse({ target: 'vda', pool, volume, format: info.format });
  const plan = await planOffline(
    c,
    { name: job.vm, spec: { disks: [disk] } },
    { link: peer, info: await peer.hostInfo(), protocolVersion: job.protocolVersion },
    job.options,
    staging,
  );
  const notes = plan.disks.map((d) => d.detail.replace(/^vda: /, ''));
  if (plan.items.length === 0) return { notes };
  try {
    await dumpBlockDevices(plan.items, staging, r.signal);
    await assertManifestsFit(plan.items.map((p) => ({ key: p.item.key, path: p.path })));
    const prep = await peer.offlinePrepare({
      protocolVersion: job.protocolVersion,
      jobId: job.id,
      source: c.config.name,
      vm: job.vm,
      volumeCopy: true,
      items: plan.items.map((p) => p.item),
      options: job.options,
    });
    if (c.jobs.get(job.id).phase === 'begin')
      c.jobs.advance(job.id, 'perform', `copying to ${prep.address}:${prep.port}`);
    const copied = await copyItems(plan.items, prep, {
      tls: c.config.tls,
      stagingDir: staging,
      signal: r.signal,
      onProgress: r.onProgress,
    });
    await peer.offlineCommit({
      protocolVersion: job.protocolVersion,
      jobId: job.id,
      manifests: copied.manifests,
    });
    await rm(staging, { recursive: true, force: true });
    notes.push(...figureNotes(copied.figures, prep.items));
    return {
      diskBytes: Object.fromEntries(Object.entries(copied.figures).map(([k, f]) => [k, f.totalWireBytes])),
      notes,
    };
  } catch (e) {
    if (isVmhopError(e) && e.code === 'VMHOP_ERR_MIGRATION_INTERRUPTED' && !r.signal.aborted) {
      await peer.offlinePause(job.id, e.message, job.protocolVersion).catch(() => undefined);
      throw e;
    }
    await undoOffline(c, job, false, (e as Error).message);
    if (r.signal.aborted)
      throw new VmhopError('VMHOP_ERR_MIGRATION_CANCELLED', 'the volume copy was cancelled', { job: job.id });
    throw e;
  }
}
