// The inverse of resolvePath: which pool volume an absolute path is, after resolving
// symbolic links and `..`. The libvirt XML importer uses it to turn <source file=.../> into
// (pool, volume); a path outside every pool yields undefined, and the caller raises
// VMHOP_ERR_PATH_OUTSIDE_POOL suggesting `vmhop pool-define` for its directory.
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute } from 'node:path';
import type { PoolDef } from '../../protocol/storage.js';
import { realishPath } from './pool-paths.js';
import { hasControlChar } from './storage-errors.js';
import { isVolumeName } from './volume-name.js';

export interface VolumeRef {
  pool: string;
  volume: string;
}

export async function findByPath(pools: readonly PoolDef[], absPath: string): Promise<VolumeRef | undefined> {
  if (!isAbsolute(absPath) || hasControlChar(absPath)) return undefined;
  const real = await realishPath(absPath);
  for (const def of pools) {
    if (def.kind === 'block') {
      for (const device of def.devices) {
        if ((await realpath(device).catch(() => device)) === real)
          return { pool: def.name, volume: basename(device) };
      }
      continue;
    }
    const root = await realpath(def.path).catch(() => undefined);
    // Volumes lie directly in the pool directory: a file in a subdirectory is in no pool.
    if (root !== undefined && dirname(real) === root && isVolumeName(basename(real))) {
      return { pool: def.name, volume: basename(real) };
    }
  }
  return undefined;
}
