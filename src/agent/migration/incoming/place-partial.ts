// Target, offline copies: where an incoming file goes and the partial file it is written to
// first (`.vmhop-partial-<job>-<name>`, hidden from volume listings, recorded as the job's
// artifact). A partial file whose source fingerprint still matches is kept (resume); an
// existing volume is never overwritten, and an identical one (same SHA-256) is not sent.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { VmhopError } from '../../../protocol/errors.js';
import type { OfflineItem, OfflinePrepareRequest } from '../../peers/offline-messages.js';
import { saveFiles } from '../../vm/save-restore.js';
import type { MigrationContext } from '../context.js';
import { chunkLogOf, readChunkLog } from './volume-receiver.js';

export interface Placed extends OfflineItem {
  status: 'present' | 'copy';
  partial: string;
  final: string;
}

export async function placeItem(
  c: MigrationContext,
  req: OfflinePrepareRequest,
  item: OfflineItem,
): Promise<Placed> {
  let final: string;
  let dir: string;
  if (item.kind === 'state') {
    final = saveFiles(c.config.dataDir, req.vm).state;
    dir = `${c.config.dataDir}/save`;
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } else {
    const pool = await c.storage.poolInfo(item.pool ?? '');
    if (pool.kind === 'block' || !pool.path) {
      throw new VmhopError(
        'VMHOP_ERR_VOLUME_UNSUPPORTED',
        `pool \`${pool.name}\` on \`${c.config.name}\` is a block pool: copies land in a dir or shared pool (use --target-pool, and --target-device to write a device)`,
        { pool: pool.name },
      );
    }
    final = await c.storage.resolvePath(pool.name, item.name ?? '', { mustExist: false });
    dir = pool.path;
  }
  const partial = `${dir}/.vmhop-partial-${req.jobId}-${item.kind === 'state' ? 'vmstate' : item.name}`;
  const there = await open(final, 'r').then(
    (fh) => fh.close().then(() => true),
    () => false,
  );
  if (there) {
    if (item.contentSha256 && (await fileSha256(final)) === item.contentSha256) {
      return { ...item, status: 'present', partial, final };
    }
    throw new VmhopError(
      'VMHOP_ERR_VOLUME_EXISTS',
      `\`${final}\` already exists on \`${c.config.name}\`${item.contentSha256 ? ' with other content' : ''}: delete it there, or pick another pool with --target-pool`,
      { path: final, host: c.config.name },
    );
  }
  const meta = `${partial}.meta`;
  const known = await readFile(meta, 'utf8').catch(() => '');
  if (known !== `${item.fingerprint} ${item.sizeBytes}`) {
    // A new copy, or the source file changed since the interruption: start this one over.
    c.jobs.addArtifact(req.jobId, 'volume', partial);
    await writeFile(partial, '', { mode: 0o600 });
    await truncate(partial, item.sizeBytes);
    await rm(chunkLogOf(partial), { force: true });
    await writeFile(meta, `${item.fingerprint} ${item.sizeBytes}`);
  }
  return { ...item, status: 'copy', partial, final };
}

export async function assertSpace(c: MigrationContext, placed: Placed[]) {
  const need = new Map<string, number>();
  for (const p of placed) {
    if (p.status !== 'copy' || !p.pool) continue;
    const have = (await readChunkLog(p.partial)).reduce((s, c) => s + c.length, 0);
    need.set(p.pool, (need.get(p.pool) ?? 0) + Math.max(0, p.dataBytes - have));
  }
  for (const [pool, bytes] of need) {
    const info = await c.storage.poolInfo(pool);
    if (bytes > info.freeBytes) {
      throw new VmhopError(
        'VMHOP_ERR_VOLUME_NO_SPACE',
        `pool \`${pool}\` on \`${c.config.name}\` has ${info.freeBytes} bytes free, the copy needs ${bytes}: free space there or pick another pool with --target-pool`,
        { pool, needBytes: bytes, freeBytes: info.freeBytes },
      );
    }
  }
}

export async function removePartial(path: string) {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await rm(chunkLogOf(path), { force: true });
  await rm(`${path}.meta`, { force: true });
}

export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const part of createReadStream(path) as AsyncIterable<Buffer>) h.update(part);
  return h.digest('hex');
}
