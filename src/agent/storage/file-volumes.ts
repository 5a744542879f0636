// Volumes of a dir or shared pool: the regular files directly in the pool directory whose
// names are valid volume names (so the pool's .vmhop-* files, subdirectories and symbolic
// links are not volumes). A volume's facts come from `qemu-img info --backing-chain`, like
// libvirt's vol-info; backing files are reported as absolute paths, nearest first.
import { readdir, stat } from 'node:fs/promises';
import type { VolumeInfo } from '../../protocol/storage.js';
import { VmhopError } from '../../protocol/errors.js';
import * as qemuImg from '../tools/qemu-img.js';
import { volumePath } from './pool-paths.js';
import type { FilePoolDef } from './pool-store.js';
import { q, volumeNotFound } from './storage-errors.js';
import { isVolumeName } from './volume-name.js';

export async function fileVolumeNames(def: FilePoolDef): Promise<string[]> {
  const entries = await readdir(def.path, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && isVolumeName(e.name))
    .map((e) => e.name)
    .sort();
}

/** The path of an existing volume; a missing one names the volumes that do exist. */
export async function existingVolumePath(
  def: FilePoolDef,
  name: string,
  opts: { unlinking?: boolean } = {},
): Promise<string> {
  const path = await volumePath(def, name, opts);
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw volumeNotFound(def.name, name, await fileVolumeNames(def));
  return path;
}

function volumeFormat(pool: string, name: string, format: string): 'qcow2' | 'raw' {
  if (format === 'qcow2' || format === 'raw') return format;
  throw new VmhopError(
    'VMHOP_ERR_VOLUME_UNSUPPORTED',
    `volume ${q(name)} in pool ${q(pool)} is a ${format} image; vmhop handles qcow2 and raw: ` +
      `convert it with \`qemu-img convert -O qcow2\``,
    { pool, volume: name, format },
  );
}

export function toVolumeInfo(pool: string, name: string, chain: readonly qemuImg.ImageInfo[]): VolumeInfo {
  const [top, ...backing] = chain as [qemuImg.ImageInfo, ...qemuImg.ImageInfo[]];
  return {
    pool,
    name,
    path: top.filename,
    format: volumeFormat(pool, name, top.format),
    virtualSizeBytes: top.virtualSizeBytes,
    allocatedBytes: top.actualSizeBytes,
    // Each layer's full-backing-filename is the next layer resolved against the overlay's
    // directory: absolute even when the header holds a relative name.
    backingChain: backing.map((b, i) => ({
      path: chain[i]?.fullBackingFilename ?? b.filename,
      format: b.format,
    })),
  };
}

/**
 * `format` pins the format instead of letting qemu-img probe it; the agent passes the
 * format it recorded when a guest could have written a qcow2 header into a raw volume.
 */
export async function fileVolumeInfo(def: FilePoolDef, name: string, format?: string): Promise<VolumeInfo> {
  const path = await existingVolumePath(def, name);
  return toVolumeInfo(def.name, name, await qemuImg.infoChain(path, { format }));
}
