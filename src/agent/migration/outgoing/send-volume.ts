// Source, offline copies: streams one file to the target's data listener, chunk by chunk,
// over mutual TLS to the target's migration address. Only the file's data extents are read
// (`qemu-img map -f raw` on the file itself: SEEK_DATA, so holes never cross the wire), in
// chunks of at most CHUNK_MAX_BYTES with their SHA-256; a chunk the target already holds with
// the same digest is skipped (resume). Each chunk has a deadline: a silently cut link ends
// the copy as interrupted within chunkDeadlineMs instead of hanging.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Agent, request } from 'undici';
import { VmhopError } from '../../../protocol/errors.js';
import * as qemuImg from '../../tools/qemu-img.js';
import { CHUNK_MAX_BYTES, type ChunkRecord } from '../wire/chunks.js';

/** No answer for one chunk within this long means the link is gone (4 MiB at 2 Mbit/s is 17 s). */
const chunkDeadlineMs = 30_000;

export interface DataEndpoint {
  address: string;
  port: number;
  token: string;
  tls: { cert: string; key: string; ca: string };
}

/** The file's data ranges, split into chunks the receiver accepts. */
export async function chunksOf(path: string): Promise<{ offset: number; length: number }[]> {
  const out: { offset: number; length: number }[] = [];
  for (const e of await qemuImg.map(path, { format: 'raw' })) {
    if (!e.data) continue;
    for (let at = e.start; at < e.start + e.length; at += CHUNK_MAX_BYTES) {
      out.push({ offset: at, length: Math.min(CHUNK_MAX_BYTES, e.start + e.length - at) });
    }
  }
  return out;
}

export interface SendResult {
  manifest: ChunkRecord[];
  /** Chunk bodies put on the wire by this call, including a chunk lost to a cut link. */
  wireBytes: number;
  skippedBytes: number;
}

export async function sendVolume(
  ep: DataEndpoint,
  dispatcher: Agent,
  key: string,
  path: string,
  have: readonly ChunkRecord[],
  opts: { signal: AbortSignal; onChunk: (wireBytes: number, doneBytes: number) => void },
): Promise<SendResult> {
  const held = new Map(have.map((c) => [c.offset, c]));
  const chunks = await chunksOf(path);
  const manifest: ChunkRecord[] = [];
  let wireBytes = 0;
  let skippedBytes = 0;
  let doneBytes = 0;
  const fh = await open(path, 'r');
  try {
    for (const c of chunks) {
      const buf = Buffer.alloc(c.length);
      await fh.read(buf, 0, c.length, c.offset);
      const sha256 = createHash('sha256').update(buf).digest('hex');
      manifest.push({ ...c, sha256 });
      const h = held.get(c.offset);
      if (h && h.length === c.length && h.sha256 === sha256) {
        skippedBytes += c.length;
      } else {
        wireBytes += c.length;
        try {
          await putChunk(ep, dispatcher, key, c.offset, buf, sha256, opts.signal);
        } catch (e) {
          opts.onChunk(wireBytes, doneBytes); // the lost chunk crossed (partly) too: count it
          throw e;
        }
      }
      doneBytes += c.length;
      opts.onChunk(wireBytes, doneBytes);
    }
  } finally {
    await fh.close();
  }
  return { manifest, wireBytes, skippedBytes };
}

async function putChunk(
  ep: DataEndpoint,
  dispatcher: Agent,
  key: string,
  offset: number,
  body: Buffer,
  sha256: string,
  signal: AbortSignal,
): Promise<void> {
  const url = `https://${ep.address}:${ep.port}/chunk?key=${encodeURIComponent(key)}&offset=${offset}`;
  let res;
  try {
    res = await request(url, {
      method: 'PUT',
      dispatcher,
      body,
      headers: {
        'x-vmhop-token': ep.token,
        'x-vmhop-sha256': sha256,
        'content-type': 'application/octet-stream',
      },
      signal: AbortSignal.any([signal, AbortSignal.timeout(chunkDeadlineMs)]),
      headersTimeout: chunkDeadlineMs,
      bodyTimeout: chunkDeadlineMs,
    });
  } catch (e) {
    if (signal.aborted) throw e;
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_INTERRUPTED',
      `the data link to ${ep.address}:${ep.port} broke while sending \`${key}\` at offset ${offset}: ${(e as Error).message}`,
      { key, offset, address: ep.address },
      e,
    );
  }
  const text = await res.body.text();
  if (res.statusCode !== 204) {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_FAILED',
      `the target refused the chunk at ${offset} of \`${key}\` (HTTP ${res.statusCode}): ${text.slice(0, 300)}`,
      { key, offset, status: res.statusCode },
    );
  }
}

/** The mutual-TLS client for a data listener; the caller closes it. */
export function dataDispatcher(tls: DataEndpoint['tls'], readFile: (p: string) => Buffer): Agent {
  return new Agent({
    connect: { ca: readFile(tls.ca), cert: readFile(tls.cert), key: readFile(tls.key) },
    connectTimeout: 10_000,
  });
}
