// The guard against "a volume bigger than the free space": a new or grown volume must fit
// whole in the pool's free space, thin or not, unless the caller allows overcommit. It is a
// guard against an obvious mistake, not an accounting of every thin volume's future growth.
import { filesystemSpace } from './pool-space.js';
import type { FilePoolDef } from './pool-store.js';
import { noSpace, noSpaceForCopy } from './storage-errors.js';

/** Refuses a copy whose data alone exceeds the free space: it would fail half-way. */
export async function assertCopyFits(def: FilePoolDef, volume: string, dataBytes: number): Promise<void> {
  const { freeBytes } = await filesystemSpace(def.path);
  if (dataBytes > freeBytes) throw noSpaceForCopy(def.name, volume, dataBytes, freeBytes);
}

/**
 * Refuses when `needBytes` exceeds the free space; the message shows `shownBytes` (the
 * volume's size), which differs from the need when part of the volume is already allocated.
 */
export async function assertFits(
  def: FilePoolDef,
  volume: string,
  needBytes: number,
  shownBytes = needBytes,
): Promise<void> {
  const { freeBytes } = await filesystemSpace(def.path);
  if (needBytes > freeBytes) throw noSpace(def.name, volume, shownBytes, freeBytes);
}
