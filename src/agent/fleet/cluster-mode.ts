// Cluster mode (issue 17 §2, docs/fleet-etcd.md) as the rest of the agent sees it: joining etcd
// in the background (an agent whose etcd is away still starts and keeps its VMs running), peers
// found among etcd's members, the one-owner-per-VM key claimed at define and checked before a VM
// runs here, and the gate that refuses anything new while this host is cut off from etcd.
// Without `cluster.etcd` in the config none of this exists and every call is a no-op.
import type { Logger } from 'pino';
import { VmhopError } from '../../protocol/errors.js';
import type { VmSpec } from '../../protocol/vm-spec.js';
import type { AgentConfig } from '../config.js';
import { EtcdCluster, type MemberRecord, type OwnerRecord } from '../cluster/etcd-cluster.js';
import { hostMemory } from '../host/memory.js';
import { loadWorthWriting } from './member-load.js';

/** How often a host that could not join (or lost its cluster client) tries again. */
const JOIN_RETRY_MS = 3_000;
/** How often the member record's load (free memory, VM count) and QEMU facts are looked at. */
export const LOAD_REFRESH_MS = 30_000;

export interface ClusterModeOptions {
  loadRefreshMs?: number;
  memoryTotalBytes?: () => number;
}

type EtcdConfig = NonNullable<AgentConfig['cluster']>['etcd'];

export class ClusterMode {
  private cluster: EtcdCluster | undefined;
  private joining: Promise<void> | undefined;
  private closed = false;
  private lastJoinError: string | undefined;
  private loadTimer: NodeJS.Timeout | undefined;
  /** What members/<self> last said of load and QEMU. */
  private published: Pick<MemberRecord, 'load' | 'qemu'> = {};
  private refreshing = false;

  constructor(
    private readonly cfg: EtcdConfig,
    private readonly self: () => MemberRecord,
    private readonly log: Logger,
    /** VMs defined here, to claim at join: [uuid, name]. */
    private readonly localVms: () => [string, string][],
    private readonly opts: ClusterModeOptions = {},
  ) {}

  /** Joins in the background, retrying until it succeeds or the agent closes. */
  start(): void {
    this.joining ??= this.joinLoop();
  }

  /** Resolves once joined (tests and the agent's start wait on it, bounded). */
  async joined(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.cluster && Date.now() < until && !this.closed) await new Promise((r) => setTimeout(r, 100));
    return this.cluster !== undefined;
  }

  private async joinLoop(): Promise<void> {
    for (let attempt = 1; !this.closed && !this.cluster; attempt++) {
      try {
        const self = this.self();
        const c = await EtcdCluster.join(this.cfg, self, this.log.child({ part: 'etcd' }));
        if (this.closed) {
          await c.close();
          return;
        }
        this.cluster = c;
        this.published = { load: self.load, qemu: self.qemu };
        this.loadTimer = setInterval(
          () => void this.refreshLoad(),
          this.opts.loadRefreshMs ?? LOAD_REFRESH_MS,
        ).unref();
        this.log.info({ endpoints: this.cfg.endpoints, attempt }, 'joined the cluster in etcd');
        await this.claimLocalVms(c);
      } catch (e) {
        this.lastJoinError = (e as Error).message;
        if (attempt === 1 || attempt % 20 === 0)
          this.log.warn({ err: e, attempt }, 'cannot join the cluster in etcd; retrying');
        await new Promise((r) => setTimeout(r, JOIN_RETRY_MS));
      }
    }
  }

  /** Writes the member record's load and QEMU facts when they moved enough (member-load.ts). */
  private async refreshLoad(): Promise<void> {
    const c = this.cluster;
    if (!c || this.refreshing) return;
    const now = this.self();
    const total = this.opts.memoryTotalBytes?.() ?? hostMemory().totalBytes;
    if (!loadWorthWriting(this.published, now, total)) return;
    this.refreshing = true;
    try {
      await c.updateSelf({ load: now.load, qemu: now.qemu });
      this.published = { load: now.load, qemu: now.qemu };
    } catch (err) {
      // Asked again at the next tick; a stale load misleads a planner less than a noisy log.
      this.log.debug({ err }, 'member record load update failed');
    } finally {
      this.refreshing = false;
    }
  }

  /** VMs that were defined here before the cluster knew them become this host's in etcd. */
  private async claimLocalVms(c: EtcdCluster): Promise<void> {
    for (const [uuid, vm] of this.localVms()) {
      const r = await c.claimVm(uuid, vm).catch((err: unknown) => {
        this.log.warn({ err, vm }, 'could not claim a local VM in etcd');
        return undefined;
      });
      if (r && !r.ok && r.owner.host !== this.self().name)
        this.log.error(
          { vm, uuid, owner: r.owner.host },
          'a VM defined here is owned by another host in etcd: it will not start here',
        );
    }
  }

  /** Throws unless this host is in touch with etcd: what brings a VM here or runs one waits. */
  assertInTouch(action: string): EtcdCluster {
    const c = this.cluster;
    if (!c) {
      const name = this.self().name;
      throw new VmhopError(
        'VMHOP_ERR_CLUSTER_UNREACHABLE',
        `host \`${name}\` has not joined its cluster in etcd (${this.cfg.endpoints.join(', ')}${this.lastJoinError ? `: ${this.lastJoinError}` : ''}): it keeps its running VMs running but does not ${action} until etcd answers; check that etcd runs and that this host reaches it`,
        { host: name, endpoints: this.cfg.endpoints },
      );
    }
    c.assertInTouch(action);
    return c;
  }

  inTouch(): boolean {
    return this.cluster?.inTouch() ?? false;
  }

  /** A peer's API URL from its members key (undefined: not a live member). */
  memberUrl(name: string): string | undefined {
    return this.cluster?.member(name)?.url;
  }

  memberNames(): string[] {
    return (this.cluster?.members() ?? []).map((m) => m.name).filter((n) => n !== this.self().name);
  }

  /** Status for `host info`. */
  status(): { endpoints: string[]; inTouch: boolean; members: string[] } {
    return {
      endpoints: this.cfg.endpoints,
      inTouch: this.inTouch(),
      members: (this.cluster?.members() ?? []).map((m) => m.name).sort(),
    };
  }

  async updateSelf(patch: Partial<MemberRecord>): Promise<void> {
    await this.cluster
      ?.updateSelf(patch)
      .catch((err: unknown) => this.log.warn({ err }, 'member update failed'));
  }

  /**
   * A define or import takes the VM's owner key first: a UUID another host owns is refused with
   * that host's name, so one VM is never defined (and run) on two hosts.
   */
  async claim(spec: Pick<VmSpec, 'uuid' | 'name'>): Promise<void> {
    const c = this.assertInTouch(`define VM \`${spec.name}\``);
    const r = await c.claimVm(spec.uuid, spec.name);
    if (r.ok || r.owner.host === this.self().name) return;
    throw ownedElsewhere(spec, r.owner, 'define it here');
  }

  /** Before a VM runs here (start, resume, restore): etcd must name this host its owner. */
  async assertOwner(spec: Pick<VmSpec, 'uuid' | 'name'>, action: string): Promise<void> {
    const c = this.assertInTouch(`${action} VM \`${spec.name}\``);
    const owner = await c.ownerOf(spec.uuid);
    if (!owner) {
      await this.claim(spec);
      return;
    }
    if (owner.host !== this.self().name) throw ownedElsewhere(spec, owner, action);
  }

  /** An undefined VM's key goes, if it names this host (never another host's). */
  async release(uuid: string): Promise<void> {
    await this.cluster
      ?.releaseVm(uuid)
      .catch((err: unknown) => this.log.warn({ err, uuid }, 'owner key release failed'));
  }

  /** The cluster client, for the migration's commit point (undefined: not joined). */
  client(): EtcdCluster | undefined {
    return this.cluster;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.loadTimer);
    await this.joining?.catch(() => undefined);
    await this.cluster?.close().catch(() => undefined);
    this.cluster = undefined;
  }
}

function ownedElsewhere(spec: Pick<VmSpec, 'uuid' | 'name'>, owner: OwnerRecord, action: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_VM_OWNED_ELSEWHERE',
    `VM \`${spec.name}\` (uuid ${spec.uuid}) belongs to host \`${owner.host}\` in the cluster: this host does not ${action}; migrate it from \`${owner.host}\` instead, or undefine it there first`,
    { vm: spec.name, uuid: spec.uuid, owner: owner.host },
  );
}
