// Listings that keep going past a broken entry: one unmounted pool or one unreadable image
// must not hide the others, nor be silently dropped. Each listing returns what it could
// describe plus a problem per entry it could not, with the error as data.
import type { PoolDef, PoolInfo, VolumeInfo } from '../../protocol/storage.js';
import { isVmhopError, VmhopError } from '../../protocol/errors.js';
import { blockVolumeInfo, blockVolumeNames } from './block-volumes.js';
import { fileVolumeInfo, fileVolumeNames } from './file-volumes.js';
import { mapLimit } from './map-limit.js';
import { describePool } from './pool-info.js';
import { poolRoot } from './pool-paths.js';

export interface PoolListing {
  pools: PoolInfo[];
  problems: Array<{ pool: string; error: VmhopError }>;
}

export interface VolumeListing {
  volumes: VolumeInfo[];
  problems: Array<{ volume: string; error: VmhopError }>;
}

/** qemu-img processes run at once while listing a pool. */
const listConcurrency = 8;

export function asVmhopError(e: unknown): VmhopError {
  if (isVmhopError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new VmhopError('VMHOP_ERR_INTERNAL', message, {}, e);
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: VmhopError };

async function attempt<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, error: asVmhopError(e) };
  }
}

export async function listPools(defs: readonly PoolDef[]): Promise<PoolListing> {
  const outcomes = await Promise.all(defs.map((d) => attempt(() => describePool(d))));
  const listing: PoolListing = { pools: [], problems: [] };
  outcomes.forEach((o, i) => {
    if (o.ok) listing.pools.push(o.value);
    else listing.problems.push({ pool: defs[i]?.name ?? '', error: o.error });
  });
  return listing;
}

export async function listVolumes(def: PoolDef): Promise<VolumeListing> {
  if (def.kind !== 'block') await poolRoot(def);
  const names = def.kind === 'block' ? blockVolumeNames(def) : await fileVolumeNames(def);
  const outcomes = await mapLimit(names, listConcurrency, (name) =>
    attempt(() => (def.kind === 'block' ? blockVolumeInfo(def, name) : fileVolumeInfo(def, name))),
  );
  const listing: VolumeListing = { volumes: [], problems: [] };
  outcomes.forEach((o, i) => {
    if (o.ok) listing.volumes.push(o.value);
    else listing.problems.push({ volume: names[i] ?? '', error: o.error });
  });
  return listing;
}
