// Maps (pool, volume name) to the volume's file and proves the file stays inside the pool:
// the name is checked, the pool directory resolved with realpath, and an existing entry that
// is a symbolic link must resolve inside the pool too. This is the guard between an API
// string and the path qemu-img or QEMU opens; nothing else in storage builds volume paths.
import { lstat, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { FilePoolDef } from './pool-store.js';
import { hardLinked, outsidePool, poolDirUnusable } from './storage-errors.js';
import { assertVolumeName } from './volume-name.js';

export function isInside(root: string, path: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * `path` made absolute, with the symbolic links and `..` of its longest existing leading part
 * resolved; the missing rest is kept as named. For comparing a path that may not exist yet
 * with directories that do (pool roots, allowed directories, devices).
 */
export async function realishPath(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await realpath(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(await realishPath(parent), basename(abs));
  }
}

/** The pool directory with every symbolic link resolved; a missing directory is a pool error. */
export async function poolRoot(def: FilePoolDef): Promise<string> {
  try {
    return await realpath(def.path);
  } catch (e) {
    throw poolDirUnusable(def.name, def.path, e);
  }
}

export async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * The absolute path of volume `name` in the pool, under the pool path as defined (not the
 * realpath: a shared pool must be named by the path every host mounts it at). A file with
 * other hard links is refused (its other names may lie outside every pool), except for
 * `unlinking`, which removes only this name.
 */
export async function volumePath(
  def: FilePoolDef,
  name: string,
  opts: { unlinking?: boolean } = {},
): Promise<string> {
  assertVolumeName(name);
  const candidate = resolve(def.path, name);
  const root = await poolRoot(def);
  // Defence in depth: the name check already excludes '/', '..' and NUL.
  const parent = await realpath(dirname(candidate)).catch(() => '');
  if (parent !== root) throw outsidePool(def.name, name, candidate, def.path);
  const entry = await lstatOrUndefined(candidate);
  if (entry?.isSymbolicLink()) {
    // A dangling link is refused too: qemu-img create would make its target, wherever it points.
    const target = await realpath(candidate).catch(() => undefined);
    if (target === undefined) {
      throw outsidePool(def.name, name, resolve(root, await readlink(candidate)), def.path, 'dangling');
    }
    if (!isInside(root, target)) throw outsidePool(def.name, name, target, def.path);
  }
  const file = entry?.isSymbolicLink() ? await stat(candidate) : entry;
  if (file?.isFile() && file.nlink > 1 && !opts.unlinking) {
    throw hardLinked(def.name, name, candidate, file.nlink);
  }
  return candidate;
}
