// The inverse of resolvePath: which pool volume an absolute path is, after resolving
// symbolic links and `..`. The libvirt XML importer uses it to turn <source file=.../> into
// (pool, volume); a path outside every pool yields undefined, and the caller raises
// VMHOP_ERR_PATH_OUTSIDE_POOL suggesting `vmhop pool-define` for its directory.
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { PoolDef } from '../../protocol/storage.js';
import { hasControlChar } from './storage-errors.js';
import { isVolumeName } from './volume-name.js';

export interface VolumeRef {
  pool: string;
  volume: string;
}

/** Resolves links in every existing part of the path; a missing last part is kept as named. */
async function realish(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return join(await realpath(dirname(path)).catch(() => resolve(dirname(path))), basename(path));
  }
}

export async function findByPath(pools: readonly PoolDef[], absPath: string): Promise<VolumeRef | undefined> {
  if (!isAbsolute(absPath) || hasControlChar(absPath)) return undefined;
  const real = await realish(resolve(absPath));
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
