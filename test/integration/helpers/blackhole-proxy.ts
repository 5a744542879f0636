// A TCP proxy that can go silent: it forwards both ways until `silence()` or until `afterBytes`
// bytes went from client to server, then stops reading and writing but keeps every socket open,
// as a link whose packets are dropped does (no FIN, no RST: the peers find out only by time).
import net from 'node:net';

export class BlackholeProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private silent = false;
  forwarded = 0;

  private constructor(
    private readonly to: { host: string; port: number },
    private readonly afterBytes: number,
  ) {
    this.server = net.createServer((client) => this.join(client));
  }

  /** Listens on 127.0.0.1 at a free port; `afterBytes` (default never) silences it by itself. */
  static async start(to: { host: string; port: number }, afterBytes = Infinity): Promise<BlackholeProxy> {
    const p = new BlackholeProxy(to, afterBytes);
    await new Promise<void>((r) => p.server.listen(0, '127.0.0.1', r));
    return p;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get isSilent(): boolean {
    return this.silent;
  }

  silence(): void {
    this.silent = true;
    for (const s of this.sockets) s.pause();
  }

  private join(client: net.Socket): void {
    const upstream = net.connect(this.to);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => this.sockets.delete(s));
    }
    client.on('data', (d: Buffer) => {
      if (this.silent) return;
      this.forwarded += d.length;
      upstream.write(d);
      if (this.forwarded >= this.afterBytes) this.silence();
    });
    upstream.on('data', (d: Buffer) => {
      if (!this.silent) client.write(d);
    });
    client.on('end', () => !this.silent && upstream.end());
    upstream.on('end', () => !this.silent && client.end());
    if (this.silent) this.silence();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
