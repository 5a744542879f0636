// The migration link's throughput, measured before a migration: the target opens a one-time sink
// on its migration address (a port of migrationPorts, only the source host's addresses admitted),
// the source streams junk bytes to it for at most `maxMs` or `maxBytes`, and the sink answers with
// what it received between its first and last byte. It crosses the link QEMU's stream will take
// (the peer API may run over another network), and the receiver's clock leaves the sender's
// socket buffers out. Bounded on both ends; nothing else is sent.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LinkProbeReply } from '../../../protocol/prediction.js';
import { plainAddress } from '../incoming/ram-gate.js';
import { listenInRange, type MigrationPorts } from '../wire/ports.js';

/** Sinks open at once on this host: a third probe is refused until one ends. */
const MAX_OPEN_SINKS = 2;
/** A sink nobody finished with is closed this long after its deadline. */
const SINK_GRACE_MS = 5_000;
let openSinks = 0;

export interface SinkOptions {
  address: string;
  ports: MigrationPorts;
  /** Addresses a probe may come from; empty admits any. */
  allowed: readonly string[];
  maxBytes: number;
  maxMs: number;
}

export interface ProbeResult {
  bytes: number;
  /** Between the sink's first and last byte. */
  ms: number;
  bps: number;
}

/** Opens the sink and says where it listens; it takes one probe and closes. */
export async function openLinkSink(o: SinkOptions): Promise<LinkProbeReply> {
  if (openSinks >= MAX_OPEN_SINKS) throw new Error(`${MAX_OPEN_SINKS} link probes are already running here`);
  const server = net.createServer();
  openSinks++;
  let closed = false;
  const close = (socket?: net.Socket) => {
    socket?.destroy();
    if (closed) return;
    closed = true;
    openSinks--;
    server.close();
  };
  try {
    const port = await listenInRange(server, o.address, o.ports, 'a link probe');
    const timer = setTimeout(close, o.maxMs + SINK_GRACE_MS);
    timer.unref();
    server.on('connection', (socket) => {
      if (closed || (o.allowed.length && !o.allowed.includes(plainAddress(socket.remoteAddress)))) {
        socket.destroy();
        return;
      }
      server.close(); // one probe per sink
      receive(socket, o.maxBytes, () => {
        clearTimeout(timer);
        close();
      });
    });
    return { address: o.address, port };
  } catch (e) {
    close();
    throw e;
  }
}

/** Counts what arrives until the sender ends (or sends too much), then answers with the figures. */
function receive(socket: net.Socket, maxBytes: number, done: () => void): void {
  let bytes = 0;
  let first = 0;
  let last = 0;
  socket.on('data', (chunk: Buffer) => {
    last = performance.now();
    if (!bytes) first = last;
    bytes += chunk.length;
    if (bytes > maxBytes + 1024 * 1024) socket.destroy();
  });
  socket.on('end', () => socket.end(`${JSON.stringify({ bytes, ms: last - first })}\n`));
  socket.on('close', done);
  socket.on('error', () => socket.destroy());
}

/** Streams to a sink for at most `maxMs` or `maxBytes` and reads its answer (bounded: maxMs + 5 s). */
export async function sendLinkProbe(
  to: LinkProbeReply,
  o: { localAddress?: string; maxBytes: number; maxMs: number },
): Promise<ProbeResult> {
  const socket = net.connect({
    host: to.address,
    port: to.port,
    ...(o.localAddress ? { localAddress: o.localAddress } : {}),
  });
  const deadline = setTimeout(
    () => socket.destroy(new Error(`no answer within ${o.maxMs + SINK_GRACE_MS} ms`)),
    o.maxMs + SINK_GRACE_MS,
  );
  try {
    const answer = readAnswer(socket);
    answer.catch(() => undefined); // awaited below; a failed connect must not leave it unhandled
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const chunk = randomBytes(64 * 1024);
    const until = performance.now() + o.maxMs;
    let sent = 0;
    while (sent < o.maxBytes && performance.now() < until) {
      sent += chunk.length;
      if (!socket.write(chunk)) await drainOrClose(socket);
      if (socket.destroyed) break;
    }
    socket.end();
    const r = await answer;
    return { ...r, bps: r.ms > 0 ? r.bytes / (r.ms / 1000) : 0 };
  } finally {
    clearTimeout(deadline);
    socket.destroy();
  }
}

/**
 * Resolves at the socket's 'drain' or 'close', whichever comes first, and takes both listeners
 * off: a 'close' listener left behind per wait piled up over a slow link (node warned of 11).
 */
function drainOrClose(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done).off('close', done);
      resolve();
    };
    socket.once('drain', done).once('close', done);
  });
}

function readAnswer(socket: net.Socket): Promise<{ bytes: number; ms: number }> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d.slice(0, 200)));
    socket.once('error', reject);
    socket.once('close', () => {
      try {
        const r = JSON.parse(text) as { bytes: number; ms: number };
        if (typeof r.bytes === 'number' && typeof r.ms === 'number') resolve(r);
        else reject(new Error(`the sink answered ${text.slice(0, 80)}`));
      } catch {
        reject(new Error(`the sink closed without its figures${text ? `: ${text.slice(0, 80)}` : ''}`));
      }
    });
  });
}
