// Checks a new pool definition against the host before it is stored: a dir or shared pool's
// path must be an existing directory no other pool uses; a block pool's devices must be block
// devices no other pool lists, with distinct basenames (they are the volume names). A shared
// pool adopts or creates its identity marker. Like `virsh pool-define` + `pool-build` for
// the marker only: it never creates the directory or touches a device.
import { realpath, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { PoolDef } from '../../protocol/storage.js';
import { isVmhopError, VmhopError } from '../../protocol/errors.js';
import { isBlockDevice } from './block-device.js';
import { hostUseOf } from './device-host-use.js';
import { checkPoolPath } from '../host/path-policy.js';
import { ensureMarker } from './pool-marker.js';
import { isFilePool, type BlockPoolDef, type FilePoolDef, type PoolStore } from './pool-store.js';
import { q } from './storage-errors.js';

function invalid(message: string, details: Record<string, unknown>): VmhopError {
  return new VmhopError('VMHOP_ERR_POOL_INVALID', message, details);
}

function parse(input: unknown): PoolDef {
  const r = PoolDef.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || 'pool'}: ${i.message}`).join('; ');
  throw invalid(`the pool definition is not valid: ${issues}`, { issues: r.error.issues });
}

async function checkDirectory(def: FilePoolDef, others: readonly PoolDef[]): Promise<FilePoolDef> {
  const path = resolve(def.path);
  const st = await stat(path).catch(() => undefined);
  if (!st?.isDirectory()) {
    const why = st ? 'is not a directory' : 'does not exist';
    throw invalid(
      `the path ${q(path)} of pool ${q(def.name)} ${why}: create the directory (or mount the storage) first`,
      {
        pool: def.name,
        path,
      },
    );
  }
  const real = await realpath(path);
  for (const o of others.filter(isFilePool)) {
    if ((await realpath(o.path).catch(() => o.path)) === real) {
      throw invalid(`the directory ${q(path)} is already pool ${q(o.name)}: use that pool`, {
        pool: def.name,
        path,
        existing: o.name,
      });
    }
  }
  return { ...def, path };
}

async function checkDevices(def: BlockPoolDef, others: readonly PoolDef[]): Promise<BlockPoolDef> {
  const taken = new Map<string, string>();
  for (const o of others) {
    if (o.kind !== 'block') continue;
    for (const d of o.devices) taken.set(await realpath(d).catch(() => d), o.name);
  }
  const names = new Set<string>();
  for (const device of def.devices) {
    if (!(await isBlockDevice(device))) {
      throw invalid(`${q(device)} is not a block device: list partitions, logical volumes or loop devices`, {
        pool: def.name,
        device,
      });
    }
    const real = await realpath(device);
    const use = await hostUseOf(real);
    if (use !== undefined) {
      throw invalid(
        `device ${q(device)} is in use by this host: ${use}. A block pool lists devices only VMs use: pick a free partition, logical volume or loop device`,
        { pool: def.name, device, use },
      );
    }
    const owner = taken.get(real);
    if (owner !== undefined) {
      throw invalid(
        `device ${q(device)} is listed twice (${owner === def.name ? 'in this pool' : `also in pool ${q(owner)}`})`,
        {
          pool: def.name,
          device,
          existing: owner,
        },
      );
    }
    taken.set(real, def.name);
    const name = basename(device);
    if (names.has(name)) {
      throw invalid(
        `two devices of pool ${q(def.name)} are named ${q(name)}: volume names must differ; use two pools`,
        {
          pool: def.name,
          device,
        },
      );
    }
    names.add(name);
  }
  return def;
}

/** A shared pool's directory that takes no marker (/proc, /sys, read-only) is the definer's mistake, not ours. */
function markerUnwritable(def: PoolDef & { path: string }, e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  // System errors only: a marker that is there but malformed already says so (a VmhopError).
  if (isVmhopError(e) || typeof (e as NodeJS.ErrnoException).errno !== 'number' || !code) throw e;
  throw invalid(
    `cannot write the identity marker of shared pool ${q(def.name)} into ${q(def.path)} (${code}): a shared pool is a writable directory on storage every host mounts`,
    { pool: def.name, path: def.path, errno: code },
  );
}

/**
 * Validates `input`, creates or adopts a shared pool's marker, and stores the definition.
 * A dir or shared pool must lie under one of `poolRoots` when given (checked before its path
 * is looked at, so a refusal tells nothing about what exists there).
 */
export async function definePool(
  store: PoolStore,
  input: unknown,
  poolRoots?: readonly string[],
): Promise<PoolDef> {
  const parsed = parse(input);
  if (poolRoots && isFilePool(parsed)) {
    await checkPoolPath({ poolRoots, bootDirs: [] }, parsed.name, parsed.path);
  }
  const existing = store.get(parsed.name);
  if (existing) {
    throw new VmhopError(
      'VMHOP_ERR_POOL_EXISTS',
      `pool ${q(parsed.name)} already exists (${existing.kind}): choose another name, or undefine it first`,
      { pool: parsed.name },
    );
  }
  const others = store.list();
  const def = isFilePool(parsed) ? await checkDirectory(parsed, others) : await checkDevices(parsed, others);
  if (def.kind === 'shared') await ensureMarker(def.path).catch((e: unknown) => markerUnwritable(def, e));
  store.add(def);
  return def;
}
