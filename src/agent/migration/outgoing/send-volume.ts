// Source, offline copies: streams one file to the target's data listener, chunk by chunk,
// over mutual TLS to the target's migration address. Only the file's data extents are read
// (`qemu-img map -f raw` on the file itself: SEEK_DATA, so holes never cross the wire), in
// chunks of at most CHUNK_MAX_BYTES with their SHA-256; a chunk the target already holds with
// the same digest is skipped (resume). Up to WINDOW chunks are in flight at once (memory stays
// at WINDOW + 1 chunks), and the volume ends with `POST /sync`: the target makes every chunk
// durable then, not one by one. A link on which nothing moves for stallMs ends the copy as
// interrupted instead of hanging.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { VmhopError } from '../../../protocol/errors.js';
import * as qemuImg from '../../tools/qemu-img.js';
import { CHUNK_MAX_BYTES, type ChunkRecord } from '../wire/chunks.js';

/** Chunks in flight: enough to keep the link busy while the target hashes and writes one. */
const WINDOW = 4;
/** Nothing moved (no body slice taken by a socket, no answer) for this long: the link is gone. */
const stallMs = 30_000;
/** A chunk's body goes out in slices this big, so a slow link still shows that it moves. */
const SLICE_BYTES = 256 * 1024;

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

/**
 * The WINDOW + 1 chunk buffers a copy needs, reused: a fresh zero-filled 4 MiB buffer per chunk
 * cost a memset each and kept the garbage collector busy (about a seventh of the CPU of a copy).
 * A buffer comes back once its chunk is answered (or skipped), and is never read past `length`.
 */
function chunkBuffers() {
  const free: Buffer[] = [];
  return {
    take: (length: number) => (free.pop() ?? Buffer.allocUnsafe(CHUNK_MAX_BYTES)).subarray(0, length),
    give: (b: Buffer) => void free.push(Buffer.from(b.buffer, b.byteOffset, CHUNK_MAX_BYTES)),
  };
}

export interface SendResult {
  manifest: ChunkRecord[];
  /** Chunk bodies put on the wire by this call, including chunks lost to a cut link. */
  wireBytes: number;
  skippedBytes: number;
}

/** Aborts `signal` once nothing has moved for stallMs; `moved()` says something did. */
function stallWatch() {
  const ctl = new AbortController();
  let last = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - last > stallMs) ctl.abort(new Error(`nothing moved for ${stallMs} ms`));
  }, 1_000);
  timer.unref();
  return { signal: ctl.signal, moved: () => (last = Date.now()), stop: () => clearInterval(timer) };
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
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const watch = stallWatch();
  const link = { ep, dispatcher, key, signal: opts.signal, watch };
  const buffers = chunkBuffers();
  const fh = await open(path, 'r');
  try {
    for (const c of chunks) {
      while (inFlight.size >= WINDOW && failure === undefined) await Promise.race(inFlight);
      if (failure !== undefined) break;
      const buf = buffers.take(c.length);
      const { bytesRead } = await fh.read(buf, 0, c.length, c.offset);
      if (bytesRead !== c.length) {
        buffers.give(buf);
        throw new VmhopError(
          'VMHOP_ERR_MIGRATION_FAILED',
          `\`${path}\` shrank while it was copied: ${bytesRead} bytes at ${c.offset} where its map said ${c.length}; nothing is put in place, migrate again`,
          { path, offset: c.offset },
        );
      }
      const sha256 = createHash('sha256').update(buf).digest('hex');
      manifest.push({ ...c, sha256 });
      const h = held.get(c.offset);
      if (h && h.length === c.length && h.sha256 === sha256) {
        buffers.give(buf);
        skippedBytes += c.length;
        doneBytes += c.length;
        opts.onChunk(wireBytes, doneBytes);
        continue;
      }
      wireBytes += c.length;
      // The buffer goes back to the pool once the target answered: it has read the whole body by then.
      const p: Promise<void> = putChunk(link, c.offset, buf, sha256).then(
        () => {
          inFlight.delete(p);
          buffers.give(buf);
          doneBytes += c.length;
          opts.onChunk(wireBytes, doneBytes);
        },
        (e: unknown) => {
          inFlight.delete(p);
          failure ??= e;
        },
      );
      inFlight.add(p);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) {
      opts.onChunk(wireBytes, doneBytes); // the lost chunks crossed (partly) too: count them
      throw failure;
    }
    await syncVolume(link);
  } finally {
    watch.stop();
    await Promise.all(inFlight);
    await fh.close();
  }
  return { manifest, wireBytes, skippedBytes };
}

interface Link {
  ep: DataEndpoint;
  dispatcher: Agent;
  key: string;
  signal: AbortSignal;
  watch: ReturnType<typeof stallWatch>;
}

/** The body in slices: each slice a socket takes is progress for the stall watch. */
async function* slices(body: Buffer, moved: () => void) {
  for (let at = 0; at < body.length; at += SLICE_BYTES) {
    yield body.subarray(at, at + SLICE_BYTES);
    moved();
  }
}

async function call(
  l: Link,
  what: string,
  path: string,
  init: { method: 'PUT' | 'POST'; body?: Buffer; sha256?: string },
) {
  const url = `https://${l.ep.address}:${l.ep.port}${path}`;
  let res;
  try {
    res = await request(url, {
      method: init.method,
      dispatcher: l.dispatcher,
      ...(init.body
        ? {
            body: Readable.from(slices(init.body, l.watch.moved), {
              objectMode: false,
              highWaterMark: SLICE_BYTES,
            }),
          }
        : {}),
      headers: {
        'x-vmhop-token': l.ep.token,
        ...(init.body
          ? { 'content-type': 'application/octet-stream', 'content-length': String(init.body.length) }
          : {}),
        ...(init.sha256 ? { 'x-vmhop-sha256': init.sha256 } : {}),
      },
      signal: AbortSignal.any([l.signal, l.watch.signal]),
      // The stall watch bounds the wait: a chunk queued behind others on a slow link may take
      // longer than any fixed per-request deadline, and still be moving.
      headersTimeout: 0,
      bodyTimeout: stallMs,
    });
  } catch (e) {
    if (l.signal.aborted) throw e;
    const why = l.watch.signal.aborted ? (l.watch.signal.reason as Error).message : (e as Error).message;
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_INTERRUPTED',
      `the data link to ${l.ep.address}:${l.ep.port} broke while sending \`${l.key}\` ${what}: ${why}`,
      { key: l.key, what, address: l.ep.address },
      e,
    );
  }
  l.watch.moved();
  const text = await res.body.text();
  if (res.statusCode !== 204) {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_FAILED',
      `the target refused ${what} of \`${l.key}\` (HTTP ${res.statusCode}): ${text.slice(0, 300)}`,
      { key: l.key, what, status: res.statusCode },
    );
  }
}

const putChunk = (l: Link, offset: number, body: Buffer, sha256: string) =>
  call(l, `the chunk at ${offset}`, `/chunk?key=${encodeURIComponent(l.key)}&offset=${offset}`, {
    method: 'PUT',
    body,
    sha256,
  });

/** Asks the target to make the volume's chunks durable; its 204 is the copy's acknowledgement. */
const syncVolume = (l: Link) =>
  call(l, 'the final sync', `/sync?key=${encodeURIComponent(l.key)}`, { method: 'POST' });

/** The mutual-TLS client for a data listener; the caller closes it. */
export function dataDispatcher(tls: DataEndpoint['tls'], readFile: (p: string) => Buffer): Agent {
  return new Agent({
    connect: { ca: readFile(tls.ca), cert: readFile(tls.cert), key: readFile(tls.key) },
    connectTimeout: 10_000,
  });
}
