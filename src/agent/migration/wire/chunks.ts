// What both sides of an offline copy agree on about the bytes that cross: a volume goes in
// chunks of at most CHUNK_MAX_BYTES, each known by offset, length and SHA-256 (the source's
// manifest, the target's `.chunks` log), and a whole file by its SHA-256 (an item's
// contentSha256, so an identical volume on the target is not sent). No side's logic lives here.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const CHUNK_MAX_BYTES = 4 * 1024 * 1024;

export interface ChunkRecord {
  offset: number;
  length: number;
  sha256: string;
}

export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const part of createReadStream(path) as AsyncIterable<Buffer>) h.update(part);
  return h.digest('hex');
}
