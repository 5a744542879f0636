// The target side of a migration in the fake QEMU (-incoming defer): migrate-incoming listens
// (MIGRATION setup before its reply), the source's connection makes it active, the stream's EOF
// frame completes it (paused, or running when `cont` came during inmigrate). A stream that ends
// before EOF, or does not open with QEMU's magic, fails it, and QEMU then exits with status 1
// (unless exit-on-error is false), as the recorded migration-cancel-target session shows.
import net from 'node:net';
import { rmSync } from 'node:fs';
import type { Machine } from './machine.js';
import { generic, ok, type Reply } from './monitor.js';
import { FrameReader } from './stream.js';

type Status = 'none' | 'setup' | 'active' | 'completed' | 'failed';

export class Incoming {
  status: Status = 'none';
  private server: net.Server | undefined;
  private address: Record<string, unknown> = {};
  private exitOnError = true;

  constructor(private readonly vm: Machine) {}

  get busy(): boolean {
    return this.status === 'setup' || this.status === 'active';
  }

  info(): Record<string, unknown> {
    if (this.status === 'none') return {};
    return this.busy ? { status: this.status, 'socket-address': [this.address] } : { status: this.status };
  }

  start(args: Record<string, unknown>): Reply | Promise<Reply> {
    if (this.vm.args.incoming !== 'defer')
      return generic("'-incoming' was not specified on the command line");
    if (this.status !== 'none') return generic('The incoming migration has already been started');
    if (args['channels'] !== undefined)
      return generic('the fake QEMU listens on `uri` only (test/fake-qemu/incoming.ts)');
    const uri = String(args['uri'] ?? '');
    const tcp = /^tcp:(.+):(\d+)$/.exec(uri);
    let listen: net.ListenOptions;
    if (uri.startsWith('unix:')) {
      listen = { path: uri.slice(5) };
      this.address = { path: uri.slice(5), type: 'unix' };
    } else if (tcp) {
      listen = { host: tcp[1]!, port: Number(tcp[2]) };
      this.address = { host: tcp[1], port: tcp[2], type: 'inet' };
    } else return generic(`unknown migration protocol: ${uri}`);
    this.exitOnError = args['exit-on-error'] !== false;
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    return new Promise<Reply>((resolve) => {
      server.once('error', (e) => resolve(generic(`Failed to bind socket: ${e.message}`)));
      server.listen(listen, () => {
        this.set('setup');
        resolve(ok);
      });
    });
  }

  close(): void {
    this.server?.close();
    if (this.address['type'] === 'unix') rmSync(String(this.address['path']), { force: true });
  }

  private set(status: Status): void {
    this.status = status;
    if (this.vm.capabilities.get('events')) this.vm.emit('MIGRATION', { status });
  }

  private accept(s: net.Socket): void {
    // One channel (no multifd): QEMU takes the first and closes its listener.
    this.close();
    if (this.status !== 'setup') return void s.destroy();
    this.set('active');
    const reader = new FrameReader();
    s.on('error', () => undefined);
    s.on('data', (chunk: Buffer) => {
      const r = reader.push(chunk);
      if ('error' in r) return this.fail(s, r.error);
      if (r.frames.includes('E')) this.complete(s);
    });
    s.on('close', () => this.fail(s, 'load of migration failed: Input/output error'));
  }

  private complete(s: net.Socket): void {
    if (this.status !== 'active') return;
    s.destroy();
    this.set('completed');
    if (this.vm.autostart) this.vm.start();
    else this.vm.state = 'paused';
  }

  private fail(s: net.Socket, why: string): void {
    if (this.status !== 'active') return;
    s.destroy();
    this.set('failed');
    process.stderr.write(`qemu-system-x86_64: ${why}\n`);
    if (this.exitOnError) this.vm.exit(1);
  }
}
