// Target, offline copies: the data plane. One HTTPS listener per job on the migration address
// (mutual TLS from the cluster CA, only the job's source by its certificate's CN, plus a
// per-job token), taking `PUT /chunk?key=K&offset=N`
// bodies of at most CHUNK_MAX_BYTES with their SHA-256. A chunk is written at its offset into
// the partial file, and only after its digest matched is it appended to the `.chunks` log:
// that log is what a resumed copy asks for, so a chunk cut half-way is sent again, never trusted.
// Why HTTPS and not qemu-nbd --tls: per-chunk acknowledgement and digests make resume exact
// and let the source count the bytes it puts on the wire; NBD would restart a convert from zero.
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, open, readFile, type FileHandle } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { CHUNK_MAX_BYTES, type ChunkRecord } from '../wire/chunks.js';

/** A listener nobody used for this long closes itself: an abandoned job must not listen forever. */
const idleCloseMs = 15 * 60_000;

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

export interface ReceiverTls {
  cert: string;
  key: string;
  ca: string;
}

export class VolumeReceiver {
  readonly token = randomBytes(24).toString('hex');
  private server: Server | undefined;
  private readonly files = new Map<string, { path: string; sizeBytes: number; fh?: FileHandle }>();
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
    if (!this.files.has(key)) this.files.set(key, { path: partial, sizeBytes });
  }

  async listen(address: string): Promise<number> {
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
    await new Promise<void>((res, rej) => server.listen(0, address, res).once('error', rej));
    this.server = server;
    this.port = (server.address() as { port: number }).port;
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
    const offset = Number(url.searchParams.get('offset'));
    const sha = String(req.headers['x-vmhop-sha256'] ?? '');
    const entry = this.files.get(key);
    if (req.method !== 'PUT' || url.pathname !== '/chunk') return fail(404, 'no such route');
    const cn = (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
    if (cn !== this.source) return fail(403, `this job takes chunks from \`${this.source}\` only`);
    if (req.headers['x-vmhop-token'] !== this.token) return fail(403, 'wrong job token');
    if (!entry) return fail(404, `no volume \`${key}\` in this job`);
    if (!Number.isSafeInteger(offset) || offset < 0) return fail(400, 'bad offset');
    const parts: Buffer[] = [];
    let size = 0;
    try {
      for await (const part of req as AsyncIterable<Buffer>) {
        size += part.length;
        if (size > CHUNK_MAX_BYTES) return fail(413, `chunk larger than ${CHUNK_MAX_BYTES} bytes`);
        parts.push(part);
      }
    } catch {
      return; // the connection died mid-chunk: nothing was written, the source sends it again
    }
    if (offset + size > entry.sizeBytes) return fail(400, `chunk at ${offset} ends past ${entry.sizeBytes}`);
    const body = Buffer.concat(parts, size);
    const got = createHash('sha256').update(body).digest('hex');
    if (got !== sha) return fail(422, `chunk at ${offset} arrived with SHA-256 ${got}, sent as ${sha}`);
    try {
      entry.fh ??= await open(entry.path, 'r+');
      await entry.fh.write(body, 0, size, offset);
      await entry.fh.datasync();
      await appendFile(chunkLogOf(entry.path), `${offset} ${size} ${got}\n`);
    } catch (e) {
      return fail(500, `writing chunk at ${offset}: ${(e as Error).message}`);
    }
    res.writeHead(204);
    res.end();
  }

  async close(): Promise<void> {
    clearTimeout(this.idle);
    for (const f of this.files.values()) await f.fh?.close().catch(() => undefined);
    this.files.clear();
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }
}
