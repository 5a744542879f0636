// Deletes a volume of a dir or shared pool (virsh vol-delete), unless another volume of this
// host's file pools is an overlay on it: deleting a base would break every overlay above it.
// Whether a VM of this host uses the volume is the caller's check (the registry knows the VMs);
// asked to, this also refuses a qcow2 volume whose image lock a running QEMU holds, which on a
// shared pool may be a VM of another host that this registry cannot know.
import { realpath, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import { VmhopError } from '../../protocol/errors.js';
import * as qemuImg from '../tools/qemu-img.js';
import { existingVolumePath, fileVolumeNames } from './file-volumes.js';
import { mapLimit } from './map-limit.js';
import type { FilePoolDef } from './pool-store.js';
import { q } from './storage-errors.js';

interface Dependent {
  pool: string;
  volume: string;
}

/** Volumes whose backing file is `target`, looked up by real path so links and `..` match. */
async function findDependents(target: string, pools: readonly FilePoolDef[]): Promise<Dependent[]> {
  const real = await realpath(target);
  const candidates: Array<Dependent & { path: string }> = [];
  for (const def of pools) {
    for (const volume of await fileVolumeNames(def).catch(() => [])) {
      candidates.push({ pool: def.name, volume, path: resolve(def.path, volume) });
    }
  }
  const hits = await mapLimit(candidates, 8, async (c) => {
    if (c.path === target) return false;
    // Without --backing-chain: an overlay whose own base is missing must still be found.
    const backing = (await qemuImg.info(c.path)).fullBackingFilename;
    if (backing === undefined) return false;
    return (await realpath(backing).catch(() => resolve(backing))) === real;
  });
  return candidates.filter((_, i) => hits[i]).map(({ pool, volume }) => ({ pool, volume }));
}

/**
 * Whether a process (a QEMU, here or on another host of a shared pool) holds the image open for
 * writing: qemu-img then cannot take its shared lock. Seen for qcow2 images; a raw image opened
 * for writing does not stop qemu-img's read of a raw image, so raw volumes are not caught.
 */
async function heldOpen(path: string): Promise<boolean> {
  try {
    await qemuImg.info(path, { forceShare: false });
    return false;
  } catch (e) {
    return /Failed to get .*lock|another process using the image/i.test((e as Error).message);
  }
}

export async function deleteFileVolume(
  def: FilePoolDef,
  name: string,
  allPools: readonly FilePoolDef[],
  opts: { refuseIfOpen?: boolean } = {},
) {
  const path = await existingVolumePath(def, name, { unlinking: true });
  if (opts.refuseIfOpen && (await heldOpen(path))) {
    throw new VmhopError(
      'VMHOP_ERR_VOLUME_IN_USE',
      `volume ${q(name)} in pool ${q(def.name)} is open in a running QEMU (it holds the image's lock)${def.kind === 'shared' ? ': a VM on this or another host of the shared pool uses it' : ''}; stop that VM first`,
      { pool: def.name, volume: name },
    );
  }
  const dependents = await findDependents(path, allPools);
  if (dependents.length > 0) {
    const names = dependents.map((d) => `${q(d.volume)} (pool ${q(d.pool)})`).join(', ');
    throw new VmhopError(
      'VMHOP_ERR_VOLUME_IN_USE',
      `volume ${q(name)} in pool ${q(def.name)} is the backing file of ${names}: delete ` +
        `${dependents.length > 1 ? 'those overlays' : 'that overlay'} first, or clone it into an independent volume`,
      { pool: def.name, volume: name, dependents },
    );
  }
  await unlink(path);
}
