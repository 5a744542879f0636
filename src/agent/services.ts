// The agent's composition root: opens the registry, builds the services (storage, VMs,
// save/restore, events) and wires them together. HTTP routes receive this object; tests
// build it over a temporary data dir and drive it through fastify inject().
import { mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import pino, { type Logger } from 'pino';
import { VmhopError } from '../protocol/errors.js';
import { HostInfo } from '../protocol/host.js';
import { MIN_PROTOCOL_VERSION, OUR_PROTOCOLS, PROTOCOL_VERSION } from '../protocol/protocol-version.js';
import type { VmInfo } from '../protocol/vm.js';
import type { AgentConfig } from './config.js';
import { openDb, type Db } from './db/open.js';
import { SqlitePoolStore } from './db/pool-store.js';
import { VmStore } from './db/vm-store.js';
import { EventBus } from './events/bus.js';
import { probeQemu, type QemuCapabilities } from './host/capabilities.js';
import { hostMemory } from './host/memory.js';
import { pathPolicyOf, type PathPolicy } from './host/path-policy.js';
import { StorageService } from './storage/storage-service.js';
import { queryStatus } from '../qmp/index.js';
import { SaveRestore } from './vm/save-restore.js';
import { Supervisor } from './vm/supervisor.js';
import { VmService, toInfo } from './vm/service.js';
import { JobStore } from './db/job-store.js';
import type { MigrationContext } from './migration/context.js';
import { MigrationEngine } from './migration/engine.js';
import { settleRetirements } from './migration/outgoing/retire-source.js';
import { switchoverRefusal, unresolvedJobOf, unresolvedRefusal } from './migration/unresolved.js';
import { HttpPeerLink } from './peers/http-peer-link.js';
import { certificateStatus } from './tls/certificate-status.js';
import type { PeerLink } from './peers/peer-link.js';
import { maintenanceField } from './fleet/maintenance.js';
import { ClusterMode } from './fleet/cluster-mode.js';
import type { MemberRecord } from './cluster/etcd-cluster.js';

export const AGENT_VERSION = '0.1.0';

export class AgentServices {
  readonly db: Db;
  readonly events = new EventBus();
  readonly storage: StorageService;
  readonly vmStore: VmStore;
  readonly supervisor: Supervisor;
  readonly vms: VmService;
  readonly saveRestore: SaveRestore;
  readonly jobStore: JobStore;
  readonly engine: MigrationEngine;
  /** What the migration engine works with (also the tests' way to drive its parts). */
  readonly migration: MigrationContext;
  /** Where clients may put pools and boot files (config allowedPoolRoots, allowedBootDirs). */
  readonly paths: PathPolicy;
  /** Cluster mode (config `cluster.etcd`); undefined in embedded mode. */
  readonly cluster: ClusterMode | undefined;
  private readonly peers = new Map<string, PeerLink>();
  /** Links made from etcd members' URLs, closed with the agent. */
  private readonly clusterLinks = new Map<string, { url: string; link: PeerLink }>();
  private capabilities: Promise<QemuCapabilities> | undefined;
  private probed: QemuCapabilities | undefined;

  constructor(
    readonly config: AgentConfig,
    readonly log: Logger = pino({ level: 'silent' }),
  ) {
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    mkdirSync(config.runDir, { recursive: true, mode: 0o700 });
    this.paths = pathPolicyOf(config);
    this.db = openDb(`${config.dataDir}/registry.sqlite`);
    this.cluster = config.cluster
      ? new ClusterMode(
          config.cluster.etcd,
          () => this.memberRecord(),
          log.child({ part: 'cluster' }),
          () =>
            this.vmStore
              .list()
              .filter((r) => r.owner === 'local')
              .map((r) => [r.spec.uuid, r.name]),
        )
      : undefined;
    const cluster = this.cluster;
    this.storage = new StorageService(new SqlitePoolStore(this.db), { poolRoots: this.paths.poolRoots });
    this.vmStore = new VmStore(this.db);
    this.supervisor = new Supervisor(
      this.vmStore,
      this.events,
      (vm) => `${config.runDir}/vms/${vm}`,
      log.child({ part: 'supervisor' }),
    );
    this.vms = new VmService({
      store: this.vmStore,
      events: this.events,
      supervisor: this.supervisor,
      disks: this.storage,
      runDir: config.runDir,
      dataDir: config.dataDir,
      accel: () => this.accel(),
      log: log.child({ part: 'vms' }),
      observerMonitor: config.observerMonitor,
      qemuBinary: config.qemuBinary,
      paths: this.paths,
      refuseIfUnresolved: (vm, action) => {
        const job = unresolvedJobOf({ jobs: this.jobStore }, vm);
        if (job) throw unresolvedRefusal(job, action);
      },
      refuseIfSwitchingOver: (vm, action) => {
        const job = this.jobStore.runningFor(vm);
        if (job?.role === 'source' && job.phase === 'finish') throw switchoverRefusal(job, action);
      },
      ...(cluster
        ? {
            claim: (spec) => cluster.claim(spec),
            mayRun: (spec, action) => cluster.assertOwner(spec, action),
            released: (uuid) => cluster.release(uuid),
          }
        : {}),
    });
    this.saveRestore = new SaveRestore(this.vms, this.supervisor, config.dataDir);
    this.jobStore = new JobStore(this.db);
    this.migration = {
      config,
      jobs: this.jobStore,
      vms: this.vms,
      vmStore: this.vmStore,
      supervisor: this.supervisor,
      storage: this.storage,
      events: this.events,
      log: log.child({ part: 'migration' }),
      peer: (name) => this.peer(name),
      migrationAddress: this.migrationAddress(),
      migrationPorts: config.migrationPorts,
      tlsDir: config.tls?.dir,
      qemu: () => this.qemu(),
      accel: () => this.accel(),
      ...(cluster ? { cluster } : {}),
    };
    this.engine = new MigrationEngine(this.migration);
  }

  migrationAddress(): string {
    return this.config.migrationAddress ?? this.config.listen.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  }

  /**
   * Joins a peer through another link than mutual TLS over HTTP: two agents in one process (the
   * engine tests). A link attached here wins over the config's peers entry of the same name.
   */
  attachPeer(link: PeerLink): void {
    this.peers.set(link.name, link);
  }

  /** The mutual-TLS link to a peer agent named in the config. */
  peer(name: string): PeerLink {
    const known = this.peers.get(name);
    if (known) return known;
    // Own keys only: `constructor` or `__proto__` must not find Object.prototype's members.
    // In cluster mode a live member of etcd is a peer too (its lease says it is there).
    // A member whose lease lapsed (cut off from etcd) is still reached at its last URL: a job
    // under way with it must still be able to ask it about its commit.
    const url =
      (Object.hasOwn(this.config.peers, name) ? this.config.peers[name] : undefined) ??
      this.cluster?.memberUrl(name) ??
      this.clusterLinks.get(name)?.url;
    if (!url) {
      const names = this.peerNames();
      throw new VmhopError(
        'VMHOP_ERR_PEER_UNKNOWN',
        `host \`${name}\` is not a peer of \`${this.config.name}\`; peers: ${names.length ? names.join(', ') : '(none)'}; ${this.cluster ? 'in cluster mode a host is a peer while its agent is a member in etcd (is it running and in touch?)' : 'add it under "peers" in the agent config'}`,
        { peer: name, peers: names },
      );
    }
    if (!this.config.tls) {
      throw new VmhopError(
        'VMHOP_ERR_PEER_AUTH',
        'agent-to-agent calls need TLS material (mutual TLS); this agent runs without it',
        {},
      );
    }
    // A member's URL may change when its agent re-registers: a link from etcd is kept per URL.
    const fromEtcd = !Object.hasOwn(this.config.peers, name);
    const kept = fromEtcd ? this.clusterLinks.get(name) : undefined;
    if (kept?.url === url) return kept.link;
    if (kept) void kept.link.close();
    const link = new HttpPeerLink(name, url, this.config.tls);
    if (fromEtcd) this.clusterLinks.set(name, { url, link });
    else this.peers.set(name, link);
    return link;
  }

  /** Every peer this host knows: the config's, and in cluster mode the live members of etcd. */
  peerNames(): string[] {
    return [...new Set([...Object.keys(this.config.peers), ...(this.cluster?.memberNames() ?? [])])].sort();
  }

  /** This host as a member of the cluster in etcd. */
  memberRecord(): MemberRecord {
    return {
      name: this.config.name,
      url: `${this.config.insecure ? 'http' : 'https'}://${this.config.listen}`,
      migrationAddress: this.migrationAddress(),
      agentVersion: AGENT_VERSION,
      protocolVersions: { min: MIN_PROTOCOL_VERSION, max: PROTOCOL_VERSION },
      maintenance: maintenanceField(this.db).maintenance !== undefined,
      ...(this.probed
        ? {
            qemu: {
              version: this.probed.qemuVersion,
              accel: this.config.accel !== 'auto' ? this.config.accel : this.probed.kvm ? 'kvm' : 'tcg',
            },
          }
        : {}),
      load: {
        memoryFreeBytes: hostMemory().availableBytes,
        vmCount: this.vmStore.list().filter((r) => r.owner === 'local').length,
        at: new Date().toISOString(),
      },
    };
  }

  /** The host's QEMU facts; the agent starts the probe at start-up, so callers rarely wait. A failed probe is retried by the next caller. */
  qemu(): Promise<QemuCapabilities> {
    this.capabilities ??= probeQemu(this.config.qemuBinary);
    // Kept for memberRecord(), which is synchronous: the record carries QEMU once it is known.
    this.capabilities.then(
      (c) => (this.probed = c),
      () => (this.capabilities = undefined),
    );
    return this.capabilities;
  }

  async accel(): Promise<'kvm' | 'tcg'> {
    if (this.config.accel !== 'auto') return this.config.accel;
    return (await this.qemu()).kvm ? 'kvm' : 'tcg';
  }

  /** A VM with the QEMU status of the moment (inmigrate, postmigrate, ... say more than running). */
  async vmInfo(name: string): Promise<VmInfo> {
    const info = toInfo(this.vms.get(name));
    const qmp = this.supervisor.qmpOf(name);
    if (qmp) {
      const st = await queryStatus(qmp, { timeoutMs: 2_000 }).catch(() => undefined);
      if (st) info.qemuStatus = st.status;
    }
    return info;
  }

  async vmInfoList(): Promise<VmInfo[]> {
    return this.vms
      .list()
      .map((v) => (this.jobStore.runningFor(v.name) ? { ...v, state: 'migrating' as const } : v));
  }

  async hostInfo(): Promise<HostInfo> {
    const q = await this.qemu();
    const mem = hostMemory();
    const scheme = this.config.insecure ? 'http' : 'https';
    return {
      name: this.config.name,
      agentVersion: AGENT_VERSION,
      // The oldest version this agent speaks: what agents before protocol 3 compare with theirs.
      protocolVersion: MIN_PROTOCOL_VERSION,
      protocolVersions: OUR_PROTOCOLS,
      url: `${scheme}://${this.config.listen}`,
      qemuVersion: q.qemuVersion,
      qemuPackage: q.qemuPackage,
      qemuFeatures: q.features,
      kvm: q.kvm,
      accel: await this.accel(),
      machines: q.machines,
      machineAliases: q.machineAliases,
      cpuModels: q.cpuModels,
      cpus: cpus().length,
      memoryTotalBytes: mem.totalBytes,
      memoryFreeBytes: mem.availableBytes,
      pools: (await this.storage.listPools()).pools,
      vmCount: this.vmStore.list().length,
      migrationAddress: this.migrationAddress(),
      migrationPorts: this.config.migrationPorts,
      ...(this.config.tls ? { certificate: certificateStatus(this.config.tls.cert, this.config.name) } : {}),
      ...maintenanceField(this.db),
      ...(this.cluster ? { cluster: this.cluster.status() } : {}),
    };
  }

  /** Ensures the `default` dir pool under the data dir exists, as every host has one. */
  async ensureDefaultPool(): Promise<void> {
    const pools = (await this.storage.listPools()).pools.map((p) => p.name);
    if (pools.includes('default')) return;
    const path = `${this.config.dataDir}/pools/default`;
    mkdirSync(path, { recursive: true, mode: 0o711 });
    await this.storage.definePool({ name: 'default', kind: 'dir', path });
  }

  /** A volume a defined VM uses is not deleted under it. */
  assertVolumeUnused(pool: string, volume: string): void {
    const user = this.vmStore
      .list()
      .find((r) => r.spec.disks.some((d) => d.pool === pool && d.volume === volume));
    if (user) {
      throw new VmhopError(
        'VMHOP_ERR_VOLUME_IN_USE',
        `volume \`${pool}/${volume}\` is a disk of VM \`${user.name}\`: undefine the VM or remove the disk first`,
        { pool, volume, vm: user.name },
      );
    }
  }

  /** A pool that holds a defined VM's disk is not forgotten under it, not even with force. */
  assertPoolUnused(pool: string): void {
    const user = this.vmStore.list().find((r) => r.spec.disks.some((d) => d.pool === pool));
    if (user) {
      throw new VmhopError(
        'VMHOP_ERR_POOL_IN_USE',
        `pool \`${pool}\` holds a disk of VM \`${user.name}\`: undefine the VM or move its disks first`,
        { pool, vm: user.name },
      );
    }
  }

  async close(): Promise<void> {
    // A source retirement under way after a commit finishes first: cut off, it leaves a paused
    // QEMU that only the next start's recovery would end.
    await settleRetirements(this.migration);
    this.engine.close();
    for (const p of [...this.peers.values(), ...[...this.clusterLinks.values()].map((l) => l.link)])
      await p.close();
    await this.cluster?.close();
    await this.supervisor.detachAll();
    this.db.close();
  }
}
