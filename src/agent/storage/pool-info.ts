// One pool's PoolInfo (virsh pool-info): its space (see pool-space.ts), how many volumes it
// holds and, for a shared pool, the id in its marker as read now, not as remembered: a
// shared pool whose storage is not mounted shows no markerId.
import type { PoolDef, PoolInfo } from '../../protocol/storage.js';
import { fileVolumeNames } from './file-volumes.js';
import { readMarker } from './pool-marker.js';
import { poolRoot } from './pool-paths.js';
import { devicesSpace, filesystemSpace } from './pool-space.js';

export async function describePool(def: PoolDef): Promise<PoolInfo> {
  if (def.kind === 'block') {
    const space = await devicesSpace(def.devices);
    return {
      name: def.name,
      kind: def.kind,
      devices: def.devices,
      ...space,
      volumeCount: def.devices.length,
    };
  }
  await poolRoot(def); // a missing directory is a pool error naming the fix, not a bare ENOENT
  const [space, names, marker] = await Promise.all([
    filesystemSpace(def.path),
    fileVolumeNames(def),
    def.kind === 'shared' ? readMarker(def.path) : undefined,
  ]);
  return {
    name: def.name,
    kind: def.kind,
    path: def.path,
    ...(marker ? { markerId: marker.id } : {}),
    ...space,
    volumeCount: names.length,
  };
}
