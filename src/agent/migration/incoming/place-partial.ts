// Target, offline copies: where an incoming file goes and the partial file it is written to
// first (`.vmhop-partial-<job>-<name>`, hidden from volume listings, recorded as the job's
// artifact). A partial file whose source fingerprint still matches is kept (resume); an
// existing volume is never overwritten, and an identical one (same SHA-256) is not sent.
// Every path is built from names the message schema validated; nothing is written until all
// items are located and the announced sizes fit.
import { mkdir, open, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { VmhopError } from '../../../protocol/errors.js';
import { VM_NAME } from '../../../protocol/vm-spec.js';
import { filesystemSpace } from '../../storage/pool-space.js';
import type { OfflineItem, OfflinePrepareRequest } from '../../peers/offline-messages.js';
import { saveFiles } from '../../vm/save-restore.js';
import type { MigrationContext } from '../context.js';
import { fileSha256 } from '../wire/chunks.js';
import { chunkLogOf, readChunkLog } from './volume-receiver.js';

export interface Placed extends OfflineItem {
  status: 'present' | 'copy';
  partial: string;
  final: string;
}

/**
 * Where an item goes, decided from validated names only, before anything is written: a
 * volume into its pool (resolvePath proves it stays inside), a VM state into the save
 * folder under the VM's name, a device dump onto a block device of a block pool here that
 * no VM of this host uses (its realpath is what is kept).
 */
export async function locateItem(
  c: MigrationContext,
  req: OfflinePrepareRequest,
  item: OfflineItem,
): Promise<Placed> {
  let final: string;
  let dir: string;
  if (item.kind === 'state') {
    if (req.volumeCopy || !VM_NAME.test(req.vm)) {
      throw new VmhopError('VMHOP_ERR_USAGE', `a VM state goes with a VM, not with \`${req.vm}\``, {
        vm: req.vm,
      });
    }
    final = saveFiles(c.config.dataDir, req.vm).state;
    dir = `${c.config.dataDir}/save`;
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
  const device = item.device ? await deviceOf(c, item.device) : undefined;
  const partial = `${dir}/.vmhop-partial-${req.jobId}-${item.kind === 'state' ? 'vmstate' : item.name}`;
  const placed = { ...item, ...(device ? { device } : {}), partial, final };
  const there = await open(final, 'r').then(
    (fh) => fh.close().then(() => true),
    () => false,
  );
  if (there) {
    if (item.contentSha256 && (await fileSha256(final)) === item.contentSha256) {
      return { ...placed, status: 'present' };
    }
    throw new VmhopError(
      'VMHOP_ERR_VOLUME_EXISTS',
      `\`${final}\` already exists on \`${c.config.name}\`${item.contentSha256 ? ' with other content' : ''}: delete it there, or pick another pool with --target-pool`,
      { path: final, host: c.config.name },
    );
  }
  return { ...placed, status: 'copy' };
}

/** The device a dump is written onto at the commit: checked at prepare and again at commit. */
export async function deviceOf(c: MigrationContext, device: string): Promise<string> {
  const dev = await c.storage.blockDevice(device);
  const user = c.vmStore
    .list()
    .find((v) => v.spec.disks.some((d) => d.pool === dev.pool && d.volume === dev.volume));
  if (user) {
    throw new VmhopError(
      'VMHOP_ERR_VOLUME_IN_USE',
      `device ${dev.path} (\`${dev.pool}/${dev.volume}\`) is a disk of VM \`${user.name}\` on \`${c.config.name}\`: a copy is never written over it`,
      { device: dev.path, vm: user.name },
    );
  }
  return dev.path;
}

/** Makes (or, on resume with the same source fingerprint, keeps) the item's partial file. */
export async function startPartial(c: MigrationContext, jobId: string, p: Placed): Promise<void> {
  if (p.status !== 'copy') return;
  if (p.kind === 'state') await mkdir(dirname(p.partial), { recursive: true, mode: 0o700 });
  const meta = `${p.partial}.meta`;
  const known = await readFile(meta, 'utf8').catch(() => '');
  if (known !== `${p.fingerprint} ${p.sizeBytes}`) {
    // A new copy, or the source file changed since the interruption: start this one over.
    c.jobs.addArtifact(jobId, 'volume', p.partial);
    await writeFile(p.partial, '', { mode: 0o600 });
    await truncate(p.partial, p.sizeBytes);
    await rm(chunkLogOf(p.partial), { force: true });
    await writeFile(meta, `${p.fingerprint} ${p.sizeBytes}`);
  }
}

/**
 * Refuses, before any partial file exists, items whose files would not fit: each is made as
 * long as announced (sparse, but it may fill up to that), so the whole length counts, less
 * what a resumed partial already holds. A pool's items are summed; a state item counts
 * against the filesystem of the data folder (its save folder is there).
 */
export async function assertSpace(c: MigrationContext, placed: Placed[]) {
  const need = new Map<string, { bytes: number; free: () => Promise<number> }>();
  for (const p of placed) {
    if (p.status !== 'copy') continue;
    const have = (await readChunkLog(p.partial)).reduce((s, x) => s + x.length, 0);
    const where = p.kind === 'state' ? 'the VM save folder' : `pool \`${p.pool}\``;
    const free =
      p.kind === 'state'
        ? async () => (await filesystemSpace(c.config.dataDir)).freeBytes
        : async () => (await c.storage.poolInfo(p.pool ?? '')).freeBytes;
    const entry = need.get(where) ?? { bytes: 0, free };
    entry.bytes += Math.max(0, p.sizeBytes - have);
    need.set(where, entry);
  }
  for (const [where, { bytes, free }] of need) {
    const freeBytes = await free();
    if (bytes > freeBytes) {
      throw new VmhopError(
        'VMHOP_ERR_VOLUME_NO_SPACE',
        `${where} on \`${c.config.name}\` has ${freeBytes} bytes free, the copy announces files of ${bytes} bytes: free space there or pick another pool with --target-pool`,
        { where, needBytes: bytes, freeBytes },
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
