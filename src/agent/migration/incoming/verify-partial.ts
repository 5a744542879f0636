// Target, offline copies: proves a partial file holds what the source sent, chunk by chunk:
// every chunk of the source's manifest must be in the received log with the same length and
// SHA-256, and reading it back from the file must give that digest again (what is on disk,
// not what went through memory). Any mismatch names the chunk; nothing is put in place.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { VmhopError } from '../../../protocol/errors.js';
import { readChunkLog, type ChunkRecord } from './volume-receiver.js';

export async function verifyPartial(partial: string, manifest: readonly ChunkRecord[]): Promise<void> {
  const got = new Map<number, ChunkRecord>();
  for (const c of await readChunkLog(partial)) got.set(c.offset, c);
  const fh = await open(partial, 'r');
  try {
    for (const want of manifest) {
      const have = got.get(want.offset);
      if (!have || have.length !== want.length || have.sha256 !== want.sha256) {
        throw new VmhopError(
          'VMHOP_ERR_MIGRATION_FAILED',
          `the copy of \`${partial}\` lacks the chunk at ${want.offset} (${want.length} bytes) the source sent`,
          { partial, offset: want.offset },
        );
      }
      const buf = Buffer.alloc(want.length);
      await fh.read(buf, 0, want.length, want.offset);
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
