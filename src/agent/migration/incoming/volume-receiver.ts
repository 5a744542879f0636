// Target, offline copies: the data plane. One HTTPS listener per job on the migration address
// (mutual TLS from the cluster CA, only the job's source by its certificate's CN, plus a
// per-job token), taking `PUT /chunk?key=K&offset=N` bodies of at most CHUNK_MAX_BYTES with
// their SHA-256 (several at once, on several connections) and `POST /sync?key=K` at the end
// of a volume. A chunk is written at its offset into the partial file; only after a data sync
// that covers it is it appended to the `.chunks` log (every FLUSH_BYTES, and at /sync, which
// also syncs the log): that log is what a resumed copy asks for, so a chunk cut half-way or
// not yet durable is sent again, never trusted. /sync's 204 means the whole volume is on disk.
// Why HTTPS and not qemu-nbd --tls: per-chunk acknowledgement and digests make resume exact
// and let the source count the bytes it puts on the wire; NBD would restart a convert from zero.
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, open, readFile, type FileHandle } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { CHUNK_MAX_BYTES, type ChunkRecord } from '../wire/chunks.js';
import { listenInRange, type MigrationPorts } from '../wire/ports.js';

/** A listener nobody used for this long closes itself: an abandoned job must not listen forever. */
const idleCloseMs = 15 * 60_000;
/**
 * Written but unsynced chunks past this many bytes are synced and logged: bounds what a crash
 * makes the source send again, and the dirty data one sync has to write.
 */
const FLUSH_BYTES = 64 * 1024 * 1024;
/**
 * No chunk for this long (a cut link, a cancelled source) and the written chunks are synced and
 * logged anyway: the resumed copy then skips them instead of sending up to FLUSH_BYTES again.
 */
const idleFlushMs = 1_000;

interface Incoming {
  key: string;
  path: string;
  sizeBytes: number;
  fh?: Promise<FileHandle>;
  /** Written, digest checked, not yet covered by a sync: not in the log. */
  pending: ChunkRecord[];
  pendingBytes: number;
  /** Syncs and log appends of this file, one after the other. */
  flushing: Promise<void>;
  /** Logged chunks this listener hashed on arrival and wrote itself: offset -> SHA-256. */
  hashed: Map<number, string>;
  idleFlush?: NodeJS.Timeout;
}

export const chunkLogOf = (partial: string) => `${partial}.chunks`;

/** The chunks a partial file holds, from its log; a torn last line is ignored. */
export async function readChunkLog(partial: string): Promise<ChunkRecord[]> {
  const text = await readFile(chunkLogOf(partial), 'utf8').catch(() => '');
  const out: ChunkRecord[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\d+) ([0-9a-f]{64})$/.exec(line);
    if (m) out.push({ offset: Number(m[1]), length: Number(m[2]), sha256: m[3]! });
  }
  return out;
}

/** pwritev until every byte of `parts` is at `offset` (a vectored write may be short). */
async function writeAll(fh: FileHandle, parts: Buffer[], offset: number): Promise<void> {
  let at = offset;
  let rest = parts;
  while (rest.length) {
    const { bytesWritten } = await fh.writev(rest, at);
    if (bytesWritten === 0) throw new Error(`no byte written at ${at}`);
    at += bytesWritten;
    let n = bytesWritten;
    const left: Buffer[] = [];
    for (const b of rest) {
      if (n >= b.length) n -= b.length;
      else {
        left.push(n ? b.subarray(n) : b);
        n = 0;
      }
    }
    rest = left;
  }
}

export interface ReceiverTls {
  cert: string;
  key: string;
  ca: string;
}

export class VolumeReceiver {
  readonly token = randomBytes(24).toString('hex');
  private server: Server | undefined;
  private readonly files = new Map<string, Incoming>();
  private idle: NodeJS.Timeout | undefined;
  port = 0;

  /** `source`: the only agent whose certificate (CN) may send chunks, the job's source. */
  constructor(
    private readonly tls: ReceiverTls,
    private readonly source: string,
    private readonly onIdle: () => void,
  ) {}

  /** Accepts chunks for `key` into `partial` (which must exist, sized by the caller). */
  accept(key: string, partial: string, sizeBytes: number): void {
    if (!this.files.has(key))
      this.files.set(key, {
        key,
        path: partial,
        sizeBytes,
        pending: [],
        pendingBytes: 0,
        flushing: Promise.resolve(),
        hashed: new Map(),
      });
  }

  /**
   * Per volume key, the chunks this listener received, hashed as they arrived, wrote and
   * synced: verifying the copy need not read them back (verify-partial.ts). Chunks of an
   * earlier, interrupted listener are not among them: they are read back. Ask before close().
   */
  hashedOnArrival(): Map<string, ReadonlyMap<number, string>> {
    return new Map([...this.files].map(([key, f]) => [key, new Map(f.hashed)]));
  }

  /** On the first free port of `ports` (the agent's migrationPorts, which the firewall opens); any port without. */
  async listen(address: string, ports?: MigrationPorts): Promise<number> {
    if (this.server) return this.port;
    const server = createServer(
      {
        cert: readFileSync(this.tls.cert),
        key: readFileSync(this.tls.key),
        ca: readFileSync(this.tls.ca),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => void this.handle(req, res),
    );
    // A silently cut link must not hold a half-read chunk (and its file handle) forever.
    server.setTimeout(60_000, (s) => s.destroy());
    if (ports) this.port = await listenInRange(server, address, ports, 'the offline data listener');
    else {
      await new Promise<void>((res, rej) => server.listen(0, address, res).once('error', rej));
      this.port = (server.address() as { port: number }).port;
    }
    this.server = server;
    this.touch();
    return this.port;
  }

  private touch() {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.onIdle(), idleCloseMs);
    this.idle.unref();
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    this.touch();
    const fail = (status: number, message: string) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message } }));
      req.resume();
    };
    const url = new URL(req.url ?? '/', 'https://x');
    const key = url.searchParams.get('key') ?? '';
    const entry = this.files.get(key);
    const route = `${req.method} ${url.pathname}`;
    if (route !== 'PUT /chunk' && route !== 'POST /sync') return fail(404, 'no such route');
    const cn = (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
    if (cn !== this.source) return fail(403, `this job takes chunks from \`${this.source}\` only`);
    if (req.headers['x-vmhop-token'] !== this.token) return fail(403, 'wrong job token');
    if (!entry) return fail(404, `no volume \`${key}\` in this job`);
    if (route === 'POST /sync') {
      req.resume();
      try {
        await this.flush(entry, true);
      } catch (e) {
        return fail(500, `syncing \`${key}\`: ${(e as Error).message}`);
      }
      res.writeHead(204);
      return res.end();
    }
    const offset = Number(url.searchParams.get('offset'));
    const sha = String(req.headers['x-vmhop-sha256'] ?? '');
    if (!Number.isSafeInteger(offset) || offset < 0) return fail(400, 'bad offset');
    // Hashed as it arrives and written as the slices it came in: no second 4 MiB copy per chunk.
    const parts: Buffer[] = [];
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const part of req as AsyncIterable<Buffer>) {
        size += part.length;
        if (size > CHUNK_MAX_BYTES) return fail(413, `chunk larger than ${CHUNK_MAX_BYTES} bytes`);
        hash.update(part);
        parts.push(part);
      }
    } catch {
      return; // the connection died mid-chunk: nothing was written, the source sends it again
    }
    if (offset + size > entry.sizeBytes) return fail(400, `chunk at ${offset} ends past ${entry.sizeBytes}`);
    const got = hash.digest('hex');
    if (got !== sha) return fail(422, `chunk at ${offset} arrived with SHA-256 ${got}, sent as ${sha}`);
    try {
      // One handle for the chunks arriving at once; a failed open is tried again by the next chunk.
      entry.fh ??= open(entry.path, 'r+').catch((e: unknown) => {
        entry.fh = undefined;
        throw e;
      });
      await writeAll(await entry.fh, parts, offset);
      entry.pending.push({ offset, length: size, sha256: got });
      entry.pendingBytes += size;
      // The chunk that crosses the bound waits for the sync: the source then slows down
      // instead of piling up dirty data.
      if (entry.pendingBytes >= FLUSH_BYTES) await this.flush(entry, false);
      clearTimeout(entry.idleFlush);
      entry.idleFlush = setTimeout(() => void this.flush(entry, false).catch(() => undefined), idleFlushMs);
      entry.idleFlush.unref();
    } catch (e) {
      return fail(500, `writing chunk at ${offset}: ${(e as Error).message}`);
    }
    res.writeHead(204);
    res.end();
  }

  /**
   * Syncs the partial file, then logs the chunks written before that sync; `final` also syncs
   * the log, so a resume after a crash trusts exactly what the disk holds.
   */
  private flush(entry: Incoming, final: boolean): Promise<void> {
    const run = async () => {
      // Closed: the job ended or its partial file went away; a log line now would outlive it.
      if (this.files.get(entry.key) !== entry) {
        if (final) throw new Error('the data listener of this job is closed');
        return;
      }
      const batch = entry.pending.splice(0);
      entry.pendingBytes -= batch.reduce((n, c) => n + c.length, 0);
      if (batch.length) {
        await (await entry.fh!).datasync();
        await appendFile(
          chunkLogOf(entry.path),
          batch.map((c) => `${c.offset} ${c.length} ${c.sha256}\n`).join(''),
        );
        for (const c of batch) entry.hashed.set(c.offset, c.sha256);
      }
      if (final) {
        const log = await open(chunkLogOf(entry.path), 'a');
        await log.sync().finally(() => log.close());
      }
    };
    const next = entry.flushing.then(run);
    entry.flushing = next.catch(() => undefined); // a failed sync fails its caller, not the next one
    return next;
  }

  async close(): Promise<void> {
    clearTimeout(this.idle);
    const files = [...this.files.values()];
    this.files.clear();
    for (const f of files) {
      clearTimeout(f.idleFlush);
      await f.flushing;
      await f.fh?.then((fh) => fh.close()).catch(() => undefined);
    }
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
}
