// Copies a volume into a new, independent volume of a dir or shared pool (virsh vol-clone):
// qemu-img convert flattens the backing chain and skips zeroes, so a block device dumps to a
// sparse qcow2 or raw image. The copy's data must fit the target pool even with overcommit
// allowed (a copy that runs out of space half-way helps no one); its virtual size must fit
// unless overcommit is allowed, as for a new volume.
import type { VolumeInfo } from '../../protocol/storage.js';
import * as qemuImg from '../tools/qemu-img.js';
import { fileVolumeInfo } from './file-volumes.js';
import { lstatOrUndefined, volumePath } from './pool-paths.js';
import type { FilePoolDef } from './pool-store.js';
import { makeExclusive } from './reserved-file.js';
import { assertCopyFits, assertFits } from './space-check.js';
import { volumeExists } from './storage-errors.js';

export interface CloneVolumeOpts {
  /** The new volume's name. */
  name: string;
  /** Defaults to the source's format. */
  format?: 'qcow2' | 'raw';
  allowOvercommit?: boolean;
  /** Copy a volume a running VM holds (-U); the copy is only crash-consistent at best. */
  forceShare?: boolean;
  signal?: AbortSignal;
}

/** Bytes the copy will write; unknown (0) for a block device, whose every byte maps as data. */
async function dataToCopy(source: VolumeInfo, isDevice: boolean): Promise<number> {
  if (isDevice) return 0;
  return qemuImg.dataBytes(await qemuImg.map(source.path, { format: source.format }));
}

export async function cloneToFileVolume(
  source: VolumeInfo,
  sourceIsDevice: boolean,
  target: FilePoolDef,
  opts: CloneVolumeOpts,
): Promise<VolumeInfo> {
  const path = await volumePath(target, opts.name);
  const format = opts.format ?? source.format;
  if (await lstatOrUndefined(path)) throw volumeExists(target.name, opts.name);
  await assertCopyFits(target, opts.name, await dataToCopy(source, sourceIsDevice));
  if (!opts.allowOvercommit) await assertFits(target, opts.name, source.virtualSizeBytes);
  await makeExclusive(
    path,
    () => volumeExists(target.name, opts.name),
    () =>
      qemuImg.convert(source.path, path, {
        sourceFormat: source.format,
        targetFormat: format,
        forceShare: opts.forceShare,
        signal: opts.signal,
      }),
  );
  return fileVolumeInfo(target, opts.name, format);
}
