// The agent's handle on the cluster in etcd (issue 17, docs/fleet-etcd.md): membership under a
// lease, the watched member list, the "in touch" clock, the owner key of every VM, and the drain
// budgets' slots and reports (slots.ts). It holds no VM or migration logic: services, drains and
// the migration engine call it at their decision points (define, import, commit, undefine, a
// drain's move) and refuse work while the host is cut off.
import type { Etcd3 } from 'etcd3';
import type { Logger } from 'pino';
import { VmhopError } from '../../protocol/errors.js';
import { CALL_TIMEOUT_MS, createClient, unreachable, type ClusterEtcdConfig } from './client.js';
import { clusterKeys, type ClusterKeys } from './keys.js';
import { MemberCache } from './members.js';
import { Membership } from './membership.js';
import * as owners from './owner.js';
import type { ClaimResult, CommitResult, FenceResult, OwnerDeps } from './owner.js';
import type { MemberRecord, OwnerRecord } from './records.js';
import * as slots from './slots.js';
import type { SlotDeps, SlotHolder, SlotPool, TakeResult, TakenSlots } from './slots.js';

export type { ClusterEtcdConfig } from './client.js';
export type { ClaimResult, CommitResult, FenceResult } from './owner.js';
export type { MemberRecord, OwnerRecord } from './records.js';
export type { SlotHolder, SlotPool, TakeResult, TakenSlots } from './slots.js';

/** How long join() waits for etcd's first answer before it names the endpoints and gives up. */
export const JOIN_TIMEOUT_MS = 5_000;

export class EtcdCluster {
  private readonly ownerDeps: OwnerDeps;
  private readonly slotDeps: SlotDeps;

  private constructor(
    private readonly client: Etcd3,
    private readonly cfg: ClusterEtcdConfig,
    private readonly log: Logger,
    private readonly membership: Membership,
    private readonly cache: MemberCache,
    keys: ClusterKeys,
    self: string,
  ) {
    this.ownerDeps = { client, keys, endpoints: cfg.endpoints, self, callTimeoutMs: CALL_TIMEOUT_MS };
    this.slotDeps = {
      client,
      keys,
      endpoints: cfg.endpoints,
      callTimeoutMs: CALL_TIMEOUT_MS,
      leaseId: () => membership.leaseId(),
    };
  }

  /** Connects, registers this host under a new lease and watches members/; etcd must answer within ~5 s. */
  static async join(cfg: ClusterEtcdConfig, self: MemberRecord, log: Logger): Promise<EtcdCluster> {
    const client = createClient(cfg);
    const keys = clusterKeys(cfg.prefix);
    const cache = new MemberCache(client, keys, log, CALL_TIMEOUT_MS);
    const membership = new Membership(
      {
        client,
        keys,
        cfg,
        log,
        callTimeoutMs: CALL_TIMEOUT_MS,
        onBackInTouch: () => {
          cache.resync().catch((err: unknown) => log.warn({ err }, 'reading members/ again failed'));
        },
      },
      self,
    );
    try {
      await joinWithin(membership, JOIN_TIMEOUT_MS);
      await cache.load();
    } catch (e) {
      await membership.close().catch(() => undefined); // the join's own error is the one to report
      client.close();
      throw new VmhopError(
        'VMHOP_ERR_CLUSTER_UNREACHABLE',
        `host \`${self.name}\` cannot join the cluster: etcd at ${cfg.endpoints.join(', ')} did not answer within ${JOIN_TIMEOUT_MS / 1000} s (${(e as Error).message}); start etcd or fix cluster.etcd.endpoints (and cluster.etcd.tls) in the agent config, then check with \`etcdctl --endpoints ${cfg.endpoints.join(',')} endpoint health\``,
        { endpoints: cfg.endpoints, host: self.name },
        e,
      );
    }
    log.info(
      { host: self.name, endpoints: cfg.endpoints, leaseTtlSeconds: cfg.leaseTtlSeconds },
      'joined the cluster in etcd',
    );
    return new EtcdCluster(client, cfg, log, membership, cache, keys, self.name);
  }

  inTouch(): boolean {
    return this.membership.inTouch();
  }

  assertInTouch(action: string): void {
    if (this.inTouch()) return;
    const silentS = (this.membership.silentForMs() / 1000).toFixed(1);
    const host = this.membership.record().name;
    throw new VmhopError(
      'VMHOP_ERR_CLUSTER_UNREACHABLE',
      `host \`${host}\` is cut off from etcd (last answer ${silentS} s ago, endpoints ${this.cfg.endpoints.join(', ')}): it keeps its running VMs running but does not ${action} until etcd answers again`,
      {
        host,
        action,
        silentForMs: this.membership.silentForMs(),
        endpoints: this.cfg.endpoints,
        outcomeKnown: true,
      },
    );
  }

  member(name: string): MemberRecord | undefined {
    return this.cache.get(name);
  }

  members(): MemberRecord[] {
    return this.cache.all();
  }

  async updateSelf(patch: Partial<MemberRecord>): Promise<void> {
    const host = this.membership.record().name;
    if (patch.name !== undefined && patch.name !== host)
      throw new VmhopError(
        'VMHOP_ERR_USAGE',
        `a member cannot rename itself (\`${host}\` to \`${patch.name}\`); restart the agent with the new name`,
        { host, name: patch.name },
      );
    try {
      await this.membership.update(patch);
    } catch (e) {
      throw unreachable(`update of member \`${host}\``, this.cfg.endpoints, e, { host, outcomeKnown: false });
    }
  }

  claimVm(uuid: string, vm: string): Promise<ClaimResult> {
    return owners.claimVm(this.ownerDeps, uuid, vm);
  }

  ownerOf(uuid: string): Promise<OwnerRecord | undefined> {
    return owners.ownerOf(this.ownerDeps, uuid);
  }

  commitOwner(uuid: string, expect: OwnerRecord, toHost: string, job: string): Promise<CommitResult> {
    return owners.commitOwner(this.ownerDeps, uuid, expect, toHost, job);
  }

  /** Replaces the owner at expect.modRevision by itself, epoch + 1: a late commit comparing that revision then fails for good. */
  fenceOwner(uuid: string, expect: OwnerRecord): Promise<FenceResult> {
    return owners.fenceOwner(this.ownerDeps, uuid, expect);
  }

  /** Deletes the owner key only if it names this host; an owner elsewhere is left alone (and logged). */
  async releaseVm(uuid: string): Promise<void> {
    const left = await owners.releaseVm(this.ownerDeps, uuid);
    if (left)
      this.log.warn(
        { uuid, owner: left },
        `owner key of VM ${uuid} names host \`${left.host}\`, not this one: left in place`,
      );
  }

  /** One slot of each pool under this host's lease, all or none (slots.ts). */
  takeSlots(pools: SlotPool[], holder: SlotHolder): Promise<TakeResult> {
    return slots.takeSlots(this.slotDeps, pools, holder);
  }

  releaseSlots(taken: TakenSlots): Promise<void> {
    return slots.releaseSlots(this.slotDeps, taken);
  }

  /** drains/<host>: the drain's report document, put without a lease. */
  putDrain(host: string, doc: unknown): Promise<void> {
    return slots.putDrain(this.slotDeps, host, doc);
  }

  /** Revokes the lease (members/<self> goes at once) and stops the watch; each step bounded. */
  async close(): Promise<void> {
    const [watch, lease] = await Promise.allSettled([this.cache.close(), this.membership.close()]);
    if (watch.status === 'rejected')
      this.log.warn({ err: watch.reason }, 'leaving the cluster: the members/ watch did not end cleanly');
    // The lease then expires by itself within its TTL, taking members/<self> with it.
    if (lease.status === 'rejected')
      this.log.warn({ err: lease.reason }, 'leaving the cluster: etcd did not answer the lease revoke');
    this.client.close();
  }
}

/** Registers, retrying refused connections until `ms` has passed (etcd may start just after the agent). */
async function joinWithin(membership: Membership, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const left = until - Date.now();
    try {
      return await membership.register(Math.max(1, left));
    } catch (e) {
      if (until - Date.now() < 250) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
