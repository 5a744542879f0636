// One agent per test, driven through fastify inject(): AgentServices over a fresh temp data
// dir and run dir, the default pool, token auth with the token `secret`. close() kills every
// QEMU this agent started (pids from the registry and from the VM run dirs' pidfiles, each
// checked to be a QEMU whose command line names this agent's run dir), then removes the dirs.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { InjectOptions } from 'fastify';
import type { Logger } from 'pino';
import { AgentConfig } from '../../../src/agent/config.js';
import { buildApp, type App } from '../../../src/agent/http/app.js';
import { hashToken } from '../../../src/credentials/token-hash.js';
import { killAndWait } from '../../../src/agent/process/signals.js';
import type { IssuedCert } from '../../../src/credentials/ca.js';
import { AgentServices } from '../../../src/agent/services.js';

export const TOKEN = 'secret';

/** Where scripts/build-guest.sh puts the test guest's kernels. */
const GUEST_CACHE_DIR = resolve(import.meta.dirname, '../../../.cache/guest');

/**
 * A reply body as the tests read it: its shape is what the assertions check (against the
 * protocol's zod schemas where one exists), so it is deliberately untyped here.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = Record<string, any>;

export interface ApiReply<T = Body> {
  status: number;
  body: T;
  text: string;
  headers: Record<string, unknown>;
}

export class TestAgent {
  private constructor(
    readonly root: string,
    public services: AgentServices,
    public app: App,
  ) {}

  /**
   * `name` is the host name (default `t`); `qemuBinary` another QEMU than the installed one;
   * `tls` this host's certificate (tls/ca.ts), for an HTTPS app (listen()) and the data listener;
   * `logger` the app's logger (a test reading the request log), silent otherwise.
   */
  static async start(
    opts: {
      name?: string;
      qemuBinary?: string;
      tls?: IssuedCert;
      peerCertificatesAsClients?: boolean;
      logger?: Logger;
      /** The agent config's `allowedPoolRoots` (default: the system temp directory). */
      allowedPoolRoots?: string[];
      /** More agent config (e.g. `commitAnswerSeconds`), over the defaults below. */
      config?: Record<string, unknown>;
    } = {},
  ): Promise<TestAgent> {
    const root = await mkdtemp(join(tmpdir(), 'vmhop-api-'));
    const tls = opts.tls;
    const config = AgentConfig.parse({
      name: opts.name ?? 't',
      ...(opts.qemuBinary ? { qemuBinary: opts.qemuBinary } : {}),
      ...(tls ? { tls: { cert: tls.cert, key: tls.key, ca: tls.ca, dir: tls.dir } } : {}),
      ...(opts.peerCertificatesAsClients ? { peerCertificatesAsClients: true } : {}),
      listen: '127.0.0.1:0',
      dataDir: join(root, 'data'),
      runDir: join(root, 'run'),
      insecure: false,
      tokenHashes: [hashToken(TOKEN)],
      // The tests' pools are temp directories; their kernels are kernelVm's /boot name and the test guest's.
      allowedPoolRoots: opts.allowedPoolRoots ?? [tmpdir()],
      allowedBootDirs: ['/boot', GUEST_CACHE_DIR],
      accel: 'tcg',
      logLevel: 'fatal',
      ...opts.config,
    });
    const services = new AgentServices(config);
    try {
      await services.ensureDefaultPool();
      const app = await buildApp({
        services,
        auth: {
          tokenHashes: config.tokenHashes,
          peerCertificatesAsClients: config.peerCertificatesAsClients,
        },
        logger: opts.logger ?? false,
        ...(tls
          ? { https: { cert: readFileSync(tls.cert), key: readFileSync(tls.key), ca: readFileSync(tls.ca) } }
          : {}),
      });
      return new TestAgent(root, services, app);
    } catch (e) {
      await services.close();
      await rm(root, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * The agent process killed and started again over the same registry: the app and services go
   * without touching a QEMU (their QMP sessions and peer links close), then new ones reattach to
   * the QEMUs. `beforeRecover` attaches the new services' peer links; then the engine recovers.
   */
  async restart(beforeRecover: (s: AgentServices) => void = () => undefined): Promise<void> {
    await this.app.close();
    await this.services.close();
    const services = new AgentServices(this.services.config);
    this.services = services;
    this.app = await buildApp({
      services,
      auth: {
        tokenHashes: services.config.tokenHashes,
        peerCertificatesAsClients: services.config.peerCertificatesAsClients,
      },
      logger: false,
    });
    await services.supervisor.reattachAll();
    beforeRecover(services);
    await services.engine.recover();
  }

  /** Serves the app on loopback (HTTPS when started with `tls`); returns its base URL. */
  async listen(): Promise<string> {
    await this.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = this.app.server.address() as { port: number };
    return `${this.services.config.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  }

  get dataDir(): string {
    return this.services.config.dataDir;
  }

  get runDir(): string {
    return this.services.config.runDir;
  }

  get defaultPoolDir(): string {
    return join(this.dataDir, 'pools', 'default');
  }

  /** An authenticated request; a body object goes as JSON. */
  async api<T = Body>(
    method: InjectOptions['method'],
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiReply<T>> {
    return this.raw<T>({
      method,
      url,
      headers: { authorization: `Bearer ${TOKEN}`, ...headers },
      ...(body === undefined ? {} : { payload: body as InjectOptions['payload'] }),
    });
  }

  async raw<T = Body>(opts: InjectOptions): Promise<ApiReply<T>> {
    const res = await this.app.inject(opts);
    let body: unknown;
    try {
      body = res.json();
    } catch {
      body = undefined;
    }
    return { status: res.statusCode, body: body as T, text: res.body, headers: res.headers };
  }

  /** Names of the files in the default pool's directory (the pool's own dot files included). */
  defaultPoolFiles(): string[] {
    return readdirSync(this.defaultPoolDir).sort();
  }

  /** Pids of the QEMUs this agent started that are still alive. */
  qemuPids(): number[] {
    const pids = new Set<number>();
    for (const row of this.services.vmStore.list()) if (row.pid) pids.add(row.pid);
    const vmsDir = join(this.runDir, 'vms');
    for (const vm of safeReaddir(vmsDir)) {
      const pid = Number(safeRead(join(vmsDir, vm, 'qemu.pid')).trim());
      if (Number.isInteger(pid) && pid > 1) pids.add(pid);
    }
    return [...pids].filter((pid) => this.isOurQemu(pid));
  }

  /** A live QEMU whose command line names this agent's run dir: never someone else's process. */
  isOurQemu(pid: number): boolean {
    const argv = safeRead(`/proc/${pid}/cmdline`).split('\0');
    return /qemu-system/.test(argv[0] ?? '') && argv.some((a) => a.includes(this.runDir));
  }

  /** Names of the VMs the agent has defined, as GET /v1/vms lists them. */
  async vmNames(): Promise<string[]> {
    const res = await this.api<{ vms: { name: string }[] }>('GET', '/v1/vms');
    return res.body.vms.map((v) => v.name);
  }

  /** Creates a thin qcow2 volume in `default` (1 GiB unless told) and returns its info. */
  async createVolume(name: string, sizeBytes = 1024 ** 3): Promise<Body> {
    const res = await this.api('POST', '/v1/pools/default/volumes', { name, sizeBytes });
    if (res.status !== 201) throw new Error(`creating volume ${name} failed: ${res.text}`);
    return res.body;
  }

  /**
   * Lets go of the QMP sessions first (so no supervisor reacts to a QEMU exit against a
   * closed registry), then kills the QEMUs it had started, then removes the temp dirs.
   */
  async close(): Promise<void> {
    const pids = this.qemuPids();
    try {
      await this.app.close();
      await this.services.close();
    } finally {
      for (const pid of pids) if (this.isOurQemu(pid)) await killAndWait(pid, 1_000);
      await rm(this.root, { recursive: true, force: true });
    }
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
