// The identity of a shared pool: a `.vmhop-pool` file at its root holding {id, createdAt}.
// Two hosts see the same storage exactly when they read the same id; a host whose mount is
// missing sees an empty mountpoint and no marker. Defining a shared pool adopts the marker it
// finds or creates one; nothing here ever rewrites or deletes a marker.
import { randomUUID } from 'node:crypto';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { VmhopError } from '../../protocol/errors.js';
import { q } from './storage-errors.js';

export const markerFile = '.vmhop-pool';

const PoolMarker = z.object({ id: z.string().uuid(), createdAt: z.string() });
export type PoolMarker = z.infer<typeof PoolMarker>;

/** The marker in `dir`, or undefined when there is none; a malformed marker is an error. */
export async function readMarker(dir: string): Promise<PoolMarker | undefined> {
  const file = join(dir, markerFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let parsed: ReturnType<typeof PoolMarker.safeParse> | undefined;
  try {
    parsed = PoolMarker.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) {
    throw new VmhopError(
      'VMHOP_ERR_POOL_INVALID',
      `the pool marker ${q(file)} is not vmhop's {id, createdAt} JSON: restore it from another host ` +
        'that mounts this storage, or remove it to give the storage a new identity',
      { file },
    );
  }
  return parsed.data;
}

/**
 * Adopts the marker in `dir` or creates it. Written to a temporary file and then hard-linked
 * into place: link() fails if the marker exists (atomic on NFS too), so two hosts defining the
 * pool at once agree on one id, and no reader ever sees a half-written marker.
 */
export async function ensureMarker(dir: string): Promise<{ marker: PoolMarker; created: boolean }> {
  const existing = await readMarker(dir);
  if (existing) return { marker: existing, created: false };
  const marker: PoolMarker = { id: randomUUID(), createdAt: new Date().toISOString() };
  const temp = join(dir, `${markerFile}.${marker.id}.tmp`);
  await writeFile(temp, JSON.stringify(marker) + '\n', { flag: 'wx', flush: true });
  try {
    await link(temp, join(dir, markerFile));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // Another host won the race: its marker is the pool's identity.
    const winner = await readMarker(dir);
    if (winner) return { marker: winner, created: false };
    throw e;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return { marker, created: true };
}
