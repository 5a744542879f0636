// The source side of a precopy migration in the fake QEMU, in QEMU 10.0.2's order: MIGRATION
// setup before migrate's reply, then the connection, PASS 1 and active, the RAM paced by
// max-bandwidth in 100 ms windows (QEMU's rate limit), passes 2 and 3, STOP, pre-switchover
// when asked for (waiting for migrate-continue), device, completed and postmigrate. A stream
// that breaks fails the migration; a failed or cancelled one restarts the vCPUs if they ran.
import net from 'node:net';
import type { Machine, RunState } from './machine.js';
import { generic, ok, type Reply } from './monitor.js';
import { frame, HEADER } from './stream.js';

type Status =
  | 'none'
  | 'setup'
  | 'active'
  | 'pre-switchover'
  | 'device'
  | 'completed'
  | 'failed'
  | 'cancelling'
  | 'cancelled';
const PAGE = 4096;
/** Of the guest's RAM, the share that holds data (the test guest's 64 MiB are mostly zero pages). */
const USED_SHARE = 1 / 16;
/** QEMU's rate-limit window (BUFFER_DELAY). */
const WINDOW_MS = 100;

export class Outgoing {
  status: Status = 'none';
  private socket: net.Socket | undefined;
  private errorDesc = '';
  private oldState: RunState = 'running';
  private startedAt = 0;
  private setupMs = 0;
  private downtimeStart = 0;
  private downtimeMs = 0;
  private sentBytes = 0;
  private normalPages = 0;
  private zeroPages = 0;
  private pass = 0;
  private continued: (() => void) | undefined;

  constructor(private readonly vm: Machine) {}

  get busy(): boolean {
    return ['setup', 'active', 'pre-switchover', 'device', 'cancelling'].includes(this.status);
  }

  execute(execute: string, args: Record<string, unknown>): Reply {
    switch (execute) {
      case 'migrate':
        return this.migrate(args);
      case 'migrate-continue':
        if (this.status !== args['state']) return generic(`Migration not in expected state: ${this.status}`);
        this.continued?.();
        return ok;
      case 'migrate-start-postcopy':
        if (!this.vm.capabilities.get('postcopy-ram'))
          return generic('Enable postcopy with migrate_set_capability before the start of migration');
        return generic('the fake QEMU does not simulate post-copy (test/fake-qemu/outgoing.ts)');
      case 'migrate-pause':
        return generic(
          'migrate-pause is currently only supported during postcopy-active or postcopy-recover state',
        );
      case 'migrate-recover':
        return generic('Migrate recover can only be run when postcopy is paused.');
      default:
        return noBlockLayer(execute, args);
    }
  }

  info(): Record<string, unknown> {
    const s = this.status;
    if (s === 'none') return {};
    if (s === 'setup' || s === 'cancelled') return { status: s };
    if (s === 'failed') return { status: s, ...(this.errorDesc ? { 'error-desc': this.errorDesc } : {}) };
    const totalMs = Date.now() - this.startedAt;
    const ram = this.ram(totalMs);
    if (s === 'completed')
      return { status: s, 'setup-time': this.setupMs, downtime: this.downtimeMs, 'total-time': totalMs, ram };
    return { 'expected-downtime': this.vm.parameters['downtime-limit'], status: s, 'setup-time': this.setupMs, 'total-time': totalMs, ram }; // prettier-ignore
  }

  cancel(): Reply {
    if (!this.busy) return ok;
    this.set('cancelling');
    this.socket?.destroy();
    this.continued?.();
    // The stream's end (a write that fails, a wait that returns) or this, whichever comes first.
    setImmediate(() => this.fail('cancelled'));
    return ok;
  }

  private ram(totalMs: number): Record<string, number> {
    const total = this.vm.args.ramBytes;
    const done = (this.normalPages + this.zeroPages) * PAGE;
    const mbps = totalMs > 0 ? (this.sentBytes * 8) / 1e6 / (totalMs / 1000) : 0;
    return {
      total, remaining: Math.max(0, total - done), transferred: this.sentBytes, 'precopy-bytes': this.sentBytes,
      'downtime-bytes': 0, 'postcopy-bytes': 0, 'multifd-bytes': 0, duplicate: this.zeroPages, normal: this.normalPages,
      'normal-bytes': this.normalPages * PAGE, 'page-size': PAGE, 'dirty-sync-count': this.pass, 'dirty-pages-rate': 0,
      'pages-per-second': Math.round(this.normalPages / Math.max(totalMs / 1000, 0.001)), mbps,
      'postcopy-requests': 0, 'dirty-sync-missed-zero-copy': 0,
    }; // prettier-ignore
  }

  private set(status: Status): void {
    this.status = status;
    if (this.vm.capabilities.get('events')) this.vm.emit('MIGRATION', { status });
  }

  private migrate(args: Record<string, unknown>): Reply {
    if (this.busy) return generic("There's a migration process in progress");
    if (this.vm.state === 'inmigrate') return generic('Guest is waiting for an incoming migration');
    if (args['channels'] !== undefined || args['resume'] === true)
      return generic('the fake QEMU migrates over `uri` only, without resume (test/fake-qemu/outgoing.ts)');
    if (this.vm.parameters['tls-creds'] || this.vm.capabilities.get('multifd'))
      return generic('the fake QEMU does not simulate TLS or multifd migration (test/fake-qemu/outgoing.ts)');
    const uri = String(args['uri'] ?? '');
    const tcp = /^tcp:(.+):(\d+)$/.exec(uri);
    const target = tcp
      ? { host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2]) }
      : uri.startsWith('unix:')
        ? { path: uri.slice(5) }
        : undefined;
    if (!target) return generic(`unknown migration protocol: ${uri}`);
    Object.assign(this, {
      errorDesc: '',
      sentBytes: 0,
      normalPages: 0,
      zeroPages: 0,
      pass: 0,
      downtimeMs: 0,
    });
    this.startedAt = Date.now();
    this.oldState = this.vm.state;
    this.set('setup');
    const where = 'path' in target ? target.path : `${target.host}:${target.port}`;
    const socket = net.connect(target as net.NetConnectOpts);
    this.socket = socket;
    socket.once(
      'connect',
      () => void this.run(socket).catch((e: Error) => this.fail(`Unable to write to socket: ${e.message}`)),
    );
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (this.status === 'setup') this.fail(`Failed to connect to '${where}': ${describeErrno(e)}`);
    });
    // With a return path QEMU reads from the target and learns of its end while it waits.
    socket.on('close', () => {
      if (this.status === 'pre-switchover' && this.vm.capabilities.get('return-path'))
        this.fail('Unable to read from socket: Connection reset by peer');
    });
    return ok;
  }

  private async run(socket: net.Socket): Promise<void> {
    this.setupMs = Date.now() - this.startedAt;
    this.nextPass();
    this.set('active');
    await this.write(socket, HEADER);
    const usedPages = Math.ceil((this.vm.args.ramBytes * USED_SHARE) / PAGE);
    const allPages = Math.ceil(this.vm.args.ramBytes / PAGE);
    while (this.normalPages < usedPages) {
      const windowEnd = Date.now() + WINDOW_MS;
      const budget = Math.max(PAGE, Number(this.vm.parameters['max-bandwidth']) / (1000 / WINDOW_MS));
      for (let sent = 0; sent < budget && this.normalPages < usedPages;) {
        const pages = Math.min(16, usedPages - this.normalPages, Math.ceil((budget - sent) / PAGE));
        await this.write(socket, frame('R', pages * PAGE));
        sent += pages * PAGE;
        this.normalPages += pages;
        this.zeroPages = Math.floor(((allPages - usedPages) * this.normalPages) / usedPages);
      }
      if (this.normalPages < usedPages) await sleep(windowEnd - Date.now());
    }
    this.zeroPages = allPages - usedPages;
    this.nextPass();
    this.nextPass();
    this.downtimeStart = Date.now();
    this.vm.stopTo('finish-migrate');
    if (this.vm.capabilities.get('pause-before-switchover')) {
      this.set('pre-switchover');
      await new Promise<void>((resolve) => (this.continued = resolve));
      this.continued = undefined;
      if (this.status !== 'pre-switchover') throw new Error('cancelled');
    }
    this.set('device');
    this.nextPass();
    await this.write(socket, Buffer.concat([frame('D', 64 * 1024), frame('E', 0)]));
    await new Promise<void>((resolve) => socket.end(resolve));
    this.downtimeMs = Date.now() - this.downtimeStart;
    this.vm.state = 'postmigrate';
    this.set('completed');
  }

  private nextPass(): void {
    this.pass += 1;
    if (this.vm.capabilities.get('events')) this.vm.emit('MIGRATION_PASS', { pass: this.pass });
  }

  /** Writes and waits until the kernel took it; a cancelled or broken stream throws. */
  private write(socket: net.Socket, bytes: Buffer): Promise<void> {
    if (this.status === 'cancelling') return Promise.reject(new Error('cancelled'));
    return new Promise((resolve, reject) => {
      socket.write(bytes, (e) => (e ? reject(e) : resolve()));
      this.sentBytes += bytes.length;
    });
  }

  private fail(desc: string): void {
    if (this.status === 'completed' || this.status === 'failed' || this.status === 'cancelled') return;
    this.socket?.destroy();
    if (this.status === 'cancelling') {
      this.restartVcpus();
      this.set('cancelled');
      return;
    }
    this.errorDesc = desc;
    this.set('failed');
    this.restartVcpus();
  }

  /** migration_iteration_finish: the vCPUs run again if they ran before the migration. */
  private restartVcpus(): void {
    if (this.vm.state !== 'finish-migrate') return;
    if (this.oldState === 'running') this.vm.start();
    else this.vm.state = this.oldState;
  }
}

/** The fake has no block layer: what QEMU answers when the named node, job or export does not exist. */
function noBlockLayer(execute: string, args: Record<string, unknown>): Reply {
  switch (execute) {
    case 'blockdev-del':
      return generic(`Failed to find node with node-name='${String(args['node-name'])}'`);
    case 'block-job-complete':
    case 'block-job-cancel':
      return { error: { class: 'DeviceNotActive', desc: `Block job '${String(args['device'])}' not found` } };
    case 'nbd-server-stop':
      return generic('NBD server not running');
    case 'block-export-del':
      return generic(`Export '${String(args['id'])}' is not found`);
    default:
      return generic(`the fake QEMU does not simulate ${execute} (test/fake-qemu/outgoing.ts)`);
  }
}

function describeErrno(e: NodeJS.ErrnoException): string {
  return (
    ({ ENOENT: 'No such file or directory', ECONNREFUSED: 'Connection refused' } as Record<string, string>)[
      e.code ?? ''
    ] ?? e.message
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
