// The same-storage proof for shared pools: one host writes `.vmhop-probe-<nonce>` holding the
// nonce, the other host reads it back. A marker can be copied along with a directory; a fresh
// random nonce written now cannot, so together they show both hosts see one storage.
// NFS may cache a name's absence for a few seconds: callers wait with a deadline and re-check.
import { randomBytes } from 'node:crypto';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VmhopError } from '../../protocol/errors.js';
import { q } from './storage-errors.js';

const NONCE = /^[0-9a-f]{32}$/;
const probeName = (nonce: string) => `.vmhop-probe-${nonce}`;

/** A nonce comes from the peer agent: it must never become a path with a '/' in it. */
function probePath(dir: string, nonce: string): string {
  if (!NONCE.test(nonce)) {
    throw new VmhopError('VMHOP_ERR_USAGE', `probe nonce ${q(nonce)} is not 32 lowercase hex digits`, {
      nonce,
    });
  }
  return join(dir, probeName(nonce));
}

export async function writeProbe(dir: string): Promise<{ nonce: string; file: string }> {
  const nonce = randomBytes(16).toString('hex');
  const file = probePath(dir, nonce);
  await writeFile(file, nonce + '\n', { flag: 'wx', flush: true });
  return { nonce, file };
}

/** True when the probe exists here and holds its nonce (a stale or truncated file does not count). */
export async function checkProbe(dir: string, nonce: string): Promise<boolean> {
  try {
    return (await readFile(probePath(dir, nonce), 'utf8')) === nonce + '\n';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export async function removeProbe(dir: string, nonce: string): Promise<void> {
  await unlink(probePath(dir, nonce)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}
