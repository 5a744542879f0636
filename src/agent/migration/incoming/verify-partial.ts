// Target, offline copies: proves a partial file holds what the source sent, chunk by chunk:
// every chunk of the source's manifest must be in the received log with the same length and
// SHA-256, and reading it back from the file must give that digest again (what is on disk,
// not what went through memory). A chunk that this job's listener hashed as it arrived, wrote
// and synced is not read back: the digest of the very bytes it wrote matched already, and a
// read right after the sync comes from the page cache, not the disk. Chunks left by an earlier,
// interrupted listener are read back (the file may have changed since). Any mismatch names the
// chunk; nothing is put in place.
// Before that, the manifest itself must cover what the source announced at prepare: an empty
// or short manifest would otherwise "verify" a file that never received its data.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { VmhopError } from '../../../protocol/errors.js';
import type { ChunkRecord } from '../wire/chunks.js';
import { readChunkLog } from './volume-receiver.js';

/**
 * The manifest's chunks lie inside the file, do not overlap, and add up to exactly the data
 * the item announced (the source counts both from the same extent map of an unchanged file).
 */
export function assertCovers(
  item: { key: string; sizeBytes: number; dataBytes: number },
  manifest: readonly ChunkRecord[],
): void {
  const refuse = (why: string) =>
    new VmhopError(
      'VMHOP_ERR_USAGE',
      `the manifest of \`${item.key}\` does not cover what its prepare announced (${item.dataBytes} bytes of data in a file of ${item.sizeBytes}): ${why}`,
      { key: item.key, dataBytes: item.dataBytes, sizeBytes: item.sizeBytes },
    );
  let end = 0;
  let total = 0;
  for (const c of [...manifest].sort((a, b) => a.offset - b.offset)) {
    if (c.offset < end) throw refuse(`the chunk at ${c.offset} overlaps the one before`);
    end = c.offset + c.length;
    if (end > item.sizeBytes) throw refuse(`the chunk at ${c.offset} ends past the file, at ${end}`);
    total += c.length;
  }
  if (total !== item.dataBytes) throw refuse(`its chunks hold ${total} bytes`);
}

export async function verifyPartial(
  partial: string,
  manifest: readonly ChunkRecord[],
  hashedOnArrival: ReadonlyMap<number, string> = new Map(),
): Promise<void> {
  const got = new Map<number, ChunkRecord>();
  for (const c of await readChunkLog(partial)) got.set(c.offset, c);
  const fh = await open(partial, 'r');
  try {
    for (const want of manifest) {
      const have = got.get(want.offset);
      if (!have || have.length !== want.length || have.sha256 !== want.sha256) {
        throw new VmhopError(
          'VMHOP_ERR_COPY_INCOMPLETE',
          `the copy of \`${partial}\` lacks the chunk at ${want.offset} (${want.length} bytes) the source sent: nothing was put in place; migrate again to resend it`,
          { partial, offset: want.offset },
        );
      }
      if (hashedOnArrival.get(want.offset) === want.sha256) continue;
      const buf = Buffer.allocUnsafe(want.length);
      const { bytesRead } = await fh.read(buf, 0, want.length, want.offset);
      if (bytesRead !== want.length) buf.fill(0, bytesRead); // a short file reads as zeros: it mismatches
      const sha = createHash('sha256').update(buf).digest('hex');
      if (sha !== want.sha256) {
        throw new VmhopError(
          'VMHOP_ERR_MIGRATION_FAILED',
          `the chunk at ${want.offset} of \`${partial}\` reads back as ${sha}, sent as ${want.sha256}: the target storage corrupted it`,
          { partial, offset: want.offset },
        );
      }
    }
  } finally {
    await fh.close();
  }
}
