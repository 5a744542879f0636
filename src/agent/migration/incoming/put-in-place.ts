// Target, offline copies, at the commit (after every file was verified): moves each copy
// from its partial file to its final name without ever overwriting one (or onto the named
// block device), checks qcow2 metadata, points overlays at their base's path on this host,
// and restores a saved VM state once the VM is defined. Every result is a job artifact.
import { link, readFile, writeFile } from 'node:fs/promises';
import { VmhopError } from '../../../protocol/errors.js';
import type { VmSpec } from '../../../protocol/vm-spec.js';
import * as qemuImg from '../../tools/qemu-img.js';
import { saveFiles, SaveRestore } from '../../vm/save-restore.js';
import type { MigrationContext } from '../context.js';
import { deviceOf, removePartial, type Placed } from './place-partial.js';

export async function putInPlace(c: MigrationContext, jobId: string, p: Placed) {
  if (p.device) {
    // The dump goes onto the named device; the image was only the vehicle. Checked again now:
    // the pool may have changed, or a VM taken the device, since the prepare.
    await qemuImg.convert(p.partial, await deviceOf(c, p.device), {
      sourceFormat: 'raw',
      targetFormat: 'raw',
      targetExists: true,
    });
    await removePartial(p.partial);
    c.jobs.removeArtifact(jobId, 'volume', p.partial);
    return;
  }
  try {
    await link(p.partial, p.final); // fails if the name appeared meanwhile: never overwrite
  } catch (e) {
    throw new VmhopError(
      'VMHOP_ERR_VOLUME_EXISTS',
      `cannot put the copy at \`${p.final}\`: ${(e as Error).message}`,
      {
        path: p.final,
      },
    );
  }
  c.jobs.addArtifact(jobId, 'volume', p.final);
  await removePartial(p.partial);
  c.jobs.removeArtifact(jobId, 'volume', p.partial);
  if (p.format === 'qcow2') {
    const r = await qemuImg.check(p.final, { format: 'qcow2' });
    if (r.status === 'corrupt')
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_FAILED',
        `qemu-img check finds \`${p.final}\` corrupt after the copy`,
        {
          path: p.final,
        },
      );
  }
}

/** Overlays whose base landed at another path (another pool) point at it again. */
export async function rebaseOverlays(placed: Placed[]) {
  for (const p of placed) {
    if (!p.backingKey || p.kind !== 'volume' || p.device) continue;
    const base = placed.find((x) => x.key === p.backingKey);
    if (!base) continue;
    const info = await qemuImg.info(p.final, { format: 'qcow2' });
    if (info.fullBackingFilename === base.final) continue;
    await qemuImg.rebase(p.final, {
      format: 'qcow2',
      backing: { file: base.final, format: base.format },
      unsafe: true,
    });
  }
}

/** The state file arrived beside the disks: write its sidecar and restore the VM from it. */
export async function restoreState(
  c: MigrationContext,
  jobId: string,
  spec: VmSpec,
  state: { running: boolean; savedAt: string },
): Promise<void> {
  const files = saveFiles(c.config.dataDir, spec.name);
  const bytes = (await readFile(files.state).catch(() => Buffer.alloc(0))).length;
  await writeFile(
    files.sidecar,
    JSON.stringify({
      name: spec.name,
      uuid: spec.uuid,
      running: state.running,
      savedAt: state.savedAt,
      bytes,
    }),
    { mode: 0o600 },
  );
  const restored = await new SaveRestore(c.vms, c.supervisor, c.config.dataDir).restore(spec.name);
  if (restored.pid) c.jobs.addArtifact(jobId, 'qemu', String(restored.pid));
}
