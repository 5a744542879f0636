// The target's RAM listener, held by the agent instead of QEMU. QEMU 10.0.2 reads a new migration
// connection's first bytes (the TLS handshake, a channel's magic) with blocking reads on its main
// loop: a client that opened TCP to the port and sent nothing froze the incoming QEMU (its
// monitor and NBD export too) until it left, and the real migration then failed on its stall
// timeout. So QEMU listens on a unix socket in the VM's run directory (0700), and this gate
// listens on the migration address and joins a connection to QEMU only when
//   1. it comes from one of the source host's addresses (the others are closed at once);
//   2. its first message is whole within `helloMs`: a complete TLS record holding a handshake
//      message, or, without TLS, the 4 bytes of a channel magic. Before that QEMU never sees it;
//   3. once joined, it finishes what QEMU reads with blocking reads within `windowMs`, or both ends
//      are closed, which ends that read: with TLS, `tlsAnswerBytes` of its answer to QEMU's first
//      flight (a real client's certificate flight; the clock starts when QEMU answers the hello);
//      without TLS, `plainBytes` in all (a multifd channel's 64-byte first packet). After that a
//      channel may be quiet as long as it likes: the main channel of a multifd migration is.
// What is left: a client on the source host that replays a whole TLS hello and then stalls, or
// answers with records that keep the handshake waiting, freezes the incoming QEMU for at most
// `windowMs`, and at most `maxOpen` such connections are open at a time.
import net from 'node:net';
import { listenInRange, type MigrationPorts } from '../wire/ports.js';

export interface GateLimits {
  helloMs: number;
  windowMs: number;
  /** With TLS: bytes the client sends after QEMU's first flight, within windowMs of it. */
  tlsAnswerBytes: number;
  /** Without TLS: bytes the client sends in all, within windowMs of joining. */
  plainBytes: number;
  /** Connections not yet past their window, at once. */
  maxOpen: number;
}

export const GATE_LIMITS: GateLimits = {
  helloMs: 5_000,
  windowMs: 5_000,
  tlsAnswerBytes: 256,
  plainBytes: 64,
  maxOpen: 16,
};

export interface GateOptions {
  /** Where to listen: the migration address. */
  address: string;
  /** The ports to listen on: the first free one of them (the agent config's migrationPorts). */
  ports: MigrationPorts;
  /** QEMU's unix socket (migrate-incoming or migrate-recover `unix:`). */
  upstream: string;
  /** The source host's addresses; empty admits any address (a source that named none). */
  allowed: readonly string[];
  tls: boolean;
  /** Journal line for what the administrator should see: admissions and refusals. */
  note: (entry: string) => void;
  limits?: Partial<GateLimits>;
}

/** TLS record header: content type 22 (handshake), major version 3, then a 16-bit length. */
const TLS_HEADER = 5;
const TLS_MAX_RECORD = 16_384 + 2_048;
const MAGIC_BYTES = 4;

/** An IPv4 peer of a dual-stack socket is reported as ::ffff:a.b.c.d. */
export const plainAddress = (a: string | undefined): string => (a ?? '').replace(/^::ffff:(?=\d+\.)/, '');

/**
 * How much of the first message `buf` still lacks: 0 when it is whole, or a refusal. Exported for
 * its tests; the gate is the only caller.
 */
export function helloState(buf: Buffer, tls: boolean): { missing: number } | { refuse: string } {
  if (!tls) return { missing: Math.max(0, MAGIC_BYTES - buf.length) };
  if (buf.length >= 1 && buf[0] !== 0x16) return { refuse: `not a TLS handshake (first byte ${buf[0]})` };
  if (buf.length >= 2 && buf[1] !== 0x03) return { refuse: `not a TLS record (version byte ${buf[1]})` };
  if (buf.length < TLS_HEADER) return { missing: TLS_HEADER - buf.length };
  const length = buf.readUInt16BE(3);
  if (length === 0 || length > TLS_MAX_RECORD) return { refuse: `a TLS record of ${length} bytes` };
  return { missing: Math.max(0, TLS_HEADER + length - buf.length) };
}

export class RamGate {
  private readonly open = new Set<net.Socket>();
  /** Connections joined to QEMU, both ends. */
  private readonly joined = new Set<net.Socket>();
  private readonly refusedFrom = new Set<string>();
  private readonly limits: GateLimits;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    private readonly o: GateOptions,
  ) {
    this.limits = { ...GATE_LIMITS, ...o.limits };
    server.on('connection', (s) => this.admit(s));
  }

  /** Listens on the first free port of `o.ports` on `o.address`. */
  static async open(o: GateOptions): Promise<RamGate> {
    const server = net.createServer({ pauseOnConnect: true });
    return new RamGate(server, await listenInRange(server, o.address, o.ports, 'an incoming migration'), o);
  }

  /** QEMU's socket behind this gate. */
  get upstream(): string {
    return this.o.upstream;
  }

  /**
   * Stops listening and drops connections still being judged; joined ones end with QEMU's
   * streams, or now with `joined` (the agent stops: its process would take them along).
   */
  close(opts: { joined?: boolean } = {}): void {
    for (const s of this.open) s.destroy();
    if (opts.joined) for (const s of this.joined) s.destroy();
    this.server.close();
  }

  private refuse(s: net.Socket, from: string, why: string): void {
    s.destroy();
    // One line per address and job: a scanner must not fill the journal.
    if (this.refusedFrom.has(from)) return;
    this.refusedFrom.add(from);
    this.o.note(`RAM listener: refused a connection from ${from}: ${why}`);
  }

  private admit(s: net.Socket): void {
    const from = plainAddress(s.remoteAddress);
    s.on('error', () => s.destroy());
    if (this.o.allowed.length > 0 && !this.o.allowed.includes(from)) {
      return this.refuse(s, from, `not an address of the source (${this.o.allowed.join(', ')})`);
    }
    if (this.open.size >= this.limits.maxOpen) {
      return this.refuse(s, from, `${this.limits.maxOpen} connections are already being judged`);
    }
    this.open.add(s);
    s.on('close', () => this.open.delete(s));
    const chunks: Buffer[] = [];
    const timer = setTimeout(
      () => this.refuse(s, from, `no whole first message within ${this.limits.helloMs / 1000} s`),
      this.limits.helloMs,
    );
    const onData = (d: Buffer) => {
      chunks.push(d);
      const state = helloState(Buffer.concat(chunks), this.o.tls);
      if ('refuse' in state) {
        clearTimeout(timer);
        return this.refuse(s, from, state.refuse);
      }
      if (state.missing > 0) return;
      clearTimeout(timer);
      s.off('data', onData);
      s.pause();
      this.join(s, from, Buffer.concat(chunks));
    };
    s.on('data', onData);
    s.on('close', () => clearTimeout(timer));
    s.resume();
  }

  /** Joins a judged connection to QEMU, then watches its first window. */
  private join(s: net.Socket, from: string, hello: Buffer): void {
    const up = net.connect(this.o.upstream);
    for (const end of [s, up]) {
      this.joined.add(end);
      end.on('close', () => this.joined.delete(end));
    }
    const both = () => {
      s.destroy();
      up.destroy();
    };
    up.on('error', (e) => {
      this.o.note(`RAM listener: QEMU ended the connection from ${from}: ${e.message}`);
      both();
    });
    // A source that ended its stream (QEMU closes it right after `completed`) leaves the pipe to
    // end QEMU's side once the last bytes are written: destroying it would drop them (the target
    // then fails the load with the device state half read). Only a connection cut short is cut.
    let ended = false;
    s.once('end', () => (ended = true));
    s.on('close', () => {
      if (!ended) up.destroy();
    });
    up.on('close', () => s.destroy());
    up.once('connect', () => {
      up.write(hello);
      const { tls } = this.o;
      const need = tls ? this.limits.tlsAnswerBytes : this.limits.plainBytes;
      const what = tls ? "bytes of its answer to QEMU's TLS flight" : 'bytes';
      // With TLS only what comes after QEMU's first bytes counts; the clock starts then.
      let counting = !tls;
      let sent = 0;
      let window: NodeJS.Timeout | undefined;
      const passed = () => {
        s.off('data', count);
        clearTimeout(window);
        this.open.delete(s);
      };
      const count = (d: Buffer) => {
        if (!counting) return;
        sent += d.length;
        if (sent >= need) passed();
      };
      const startClock = () => {
        window = setTimeout(() => {
          if (sent >= need) return;
          this.o.note(
            `RAM listener: cut the connection from ${from}: ${sent} ${what} within ${this.limits.windowMs / 1000} s (a migration source sends at least ${need})`,
          );
          both();
        }, this.limits.windowMs);
      };
      s.on('close', () => clearTimeout(window));
      s.on('data', count);
      if (tls) {
        up.once('data', () => {
          counting = true;
          startClock();
        });
      } else {
        count(hello);
        if (sent < need) startClock();
      }
      s.pipe(up);
      up.pipe(s);
      s.resume();
      this.o.note(`RAM listener: admitted a connection from ${from}`);
    });
  }
}
