// Changes a volume's virtual size (virsh vol-resize, qemu-img resize). Growing must fit the
// pool's free space unless overcommit is allowed; shrinking destroys the data past the new
// end, so it needs `force`. The guest sees the new size after a reboot or a block_resize.
import { VmhopError } from '../../protocol/errors.js';
import * as qemuImg from '../tools/qemu-img.js';
import type { VolumeInfo } from '../../protocol/storage.js';
import { fileVolumeInfo } from './file-volumes.js';
import { formatBytes } from './format-bytes.js';
import type { FilePoolDef } from './pool-store.js';
import { assertFits } from './space-check.js';
import { q } from './storage-errors.js';

export interface ResizeVolumeOpts {
  /** Allow shrinking. */
  force?: boolean;
  allowOvercommit?: boolean;
}

export async function resizeFileVolume(
  def: FilePoolDef,
  name: string,
  sizeBytes: number,
  opts: ResizeVolumeOpts = {},
): Promise<VolumeInfo> {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `the new size of volume ${q(name)} must be a positive number of bytes`,
      {
        volume: name,
        sizeBytes,
      },
    );
  }
  const vol = await fileVolumeInfo(def, name);
  if (sizeBytes === vol.virtualSizeBytes) return vol;
  const shrink = sizeBytes < vol.virtualSizeBytes;
  if (shrink && !opts.force) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `volume ${q(name)} is ${formatBytes(vol.virtualSizeBytes)}; shrinking it to ${formatBytes(sizeBytes)} ` +
        'destroys the data past the new end (shrink the guest filesystem first): pass force to shrink',
      { pool: def.name, volume: name, sizeBytes, virtualSizeBytes: vol.virtualSizeBytes },
    );
  }
  if (!shrink && !opts.allowOvercommit)
    await assertFits(def, name, sizeBytes - vol.allocatedBytes, sizeBytes);
  await qemuImg.resize(vol.path, { format: vol.format, sizeBytes, shrink });
  return fileVolumeInfo(def, name, vol.format);
}
