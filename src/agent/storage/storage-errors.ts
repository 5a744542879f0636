// The storage errors an administrator sees, built in one place so each names the value,
// what was expected and the fix, in the same words everywhere. Codes come from the
// VMHOP_ERR_* catalogue; exact byte counts travel in details, rounded sizes in the text.
import { VmhopError } from '../../protocol/errors.js';
import { formatBytes } from './format-bytes.js';

export function hasControlChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A value between backticks, with control characters escaped so a newline cannot forge a line. */
export function q(value: string): string {
  const shown = hasControlChar(value) ? JSON.stringify(value).slice(1, -1) : value;
  return `\`${shown}\``;
}

function listed(names: readonly string[], max = 10): string {
  const shown = names.slice(0, max).map(q).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

export function poolNotFound(name: string, known: readonly string[]): VmhopError {
  const there = known.length
    ? `pools here: ${listed(known)}`
    : 'no pools are defined here: define one with `vmhop pool-define`';
  return new VmhopError('VMHOP_ERR_POOL_NOT_FOUND', `pool ${q(name)} not found; ${there}`, {
    pool: name,
    known,
  });
}

export function volumeNotFound(pool: string, name: string, known: readonly string[]): VmhopError {
  const there = known.length ? `volumes there: ${listed(known)}` : 'the pool holds no volumes';
  return new VmhopError(
    'VMHOP_ERR_VOLUME_NOT_FOUND',
    `volume ${q(name)} not found in pool ${q(pool)}; ${there}`,
    {
      pool,
      volume: name,
    },
  );
}

export function volumeExists(pool: string, name: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_VOLUME_EXISTS',
    `volume ${q(name)} already exists in pool ${q(pool)}: choose another name, or delete it first`,
    { pool, volume: name },
  );
}

export function noSpace(pool: string, name: string, needBytes: number, freeBytes: number): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_VOLUME_NO_SPACE',
    `volume ${q(name)} (${formatBytes(needBytes)}) does not fit in pool ${q(pool)} ` +
      `(${formatBytes(freeBytes)} free): choose a smaller size or another pool, or allow overcommit`,
    { pool, volume: name, needBytes, freeBytes },
  );
}

export function noSpaceForCopy(pool: string, name: string, dataBytes: number, freeBytes: number): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_VOLUME_NO_SPACE',
    `copying into volume ${q(name)} writes ${formatBytes(dataBytes)}, more than the ` +
      `${formatBytes(freeBytes)} free in pool ${q(pool)}: free some space or choose another pool`,
    { pool, volume: name, needBytes: dataBytes, freeBytes },
  );
}

export function notOnBlockPool(pool: string, what: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_VOLUME_UNSUPPORTED',
    `cannot ${what} in block pool ${q(pool)}: its volumes are the devices it lists. ` +
      'Create or remove the device with your system tools (lvcreate, losetup, parted) and define ' +
      'a block pool that lists it, or use a dir pool',
    { pool },
  );
}

export function outsidePool(
  pool: string,
  name: string,
  resolved: string,
  poolDir: string,
  dangling?: 'dangling',
): VmhopError {
  const where = dangling
    ? `is a symbolic link to ${q(resolved)}, which does not exist (its target could land anywhere)`
    : `leads to ${q(resolved)}, outside the pool directory ${q(poolDir)}`;
  return new VmhopError(
    'VMHOP_ERR_PATH_OUTSIDE_POOL',
    `volume ${q(name)} in pool ${q(pool)} ${where}: replace the symbolic link with the image itself`,
    { pool, volume: name, resolved, poolDir },
  );
}

export function hardLinked(pool: string, name: string, path: string, links: number): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_VOLUME_HARD_LINKED',
    `volume ${q(name)} in pool ${q(pool)} (${q(path)}) has ${links} hard links: the others may be ` +
      'files outside the pool, which a write to the volume would change too. Make it a file of its ' +
      `own (\`cp --sparse=always ${path} ${path}.own && mv ${path}.own ${path}\`), or delete it`,
    { pool, volume: name, path, links },
  );
}

export function poolDirUnusable(pool: string, dir: string, cause: unknown): VmhopError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const why =
    code === 'ENOENT' ? 'is missing' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be read (${code})`;
  return new VmhopError(
    'VMHOP_ERR_POOL_INVALID',
    `the directory ${q(dir)} of pool ${q(pool)} ${why}: mount or create it, or undefine the pool`,
    { pool, path: dir },
    cause,
  );
}
