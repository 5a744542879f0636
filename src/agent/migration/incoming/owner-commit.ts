// The commit point in cluster mode (docs/fleet-etcd.md): the target takes the VM's owner key in
// etcd by a compare-and-swap on the revision it read at prepare, before its own commit record
// and before it resumes. etcd's answer is the outcome: committed, refused (the source runs on),
// or unknown (no answer: the transaction may still apply). An unknown commit is never guessed:
// the target answers "not known" (the source stays paused and asks again) and, before it ever
// refuses that job, reads the owner back and fences the old revision, so a late transaction
// can no longer make it the owner while the source runs.
import { VmhopError } from '../../../protocol/errors.js';
import type { ClusterMode } from '../../fleet/cluster-mode.js';
import type { OwnerRecord } from '../../cluster/etcd-cluster.js';

export class OwnerCommits {
  /** The owner each incoming job found at prepare (the source, at its revision). */
  private readonly expected = new Map<string, OwnerRecord>();
  /** Jobs whose commit transaction was sent without an answer. */
  private readonly inDoubt = new Set<string>();
  /** Jobs whose unanswered commit was fenced: refused for certain from then on. */
  private readonly fenced = new Set<string>();

  constructor(
    private readonly cluster: ClusterMode | undefined,
    private readonly self: string,
  ) {}

  get enabled(): boolean {
    return this.cluster !== undefined;
  }

  /** At prepare: this host is in touch, and etcd names the source the VM's owner. */
  async atPrepare(jobId: string, vm: { uuid: string; name: string }, source: string): Promise<void> {
    if (!this.cluster) return;
    const c = this.cluster.assertInTouch(`take an incoming migration of \`${vm.name}\``);
    const owner = await c.ownerOf(vm.uuid);
    if (!owner || owner.host !== source) {
      throw new VmhopError(
        'VMHOP_ERR_VM_OWNED_ELSEWHERE',
        `host \`${source}\` asks to migrate VM \`${vm.name}\` (uuid ${vm.uuid}) here, but the cluster names ${owner ? `\`${owner.host}\`` : 'no host'} its owner: migrate it from its owner${owner ? '' : ' after `vmhop define` there claims it'}`,
        { vm: vm.name, uuid: vm.uuid, owner: owner?.host, source, outcomeKnown: true },
      );
    }
    this.expected.set(jobId, owner);
  }

  /**
   * The commit: throws a refusal (outcomeKnown) when etcd refused or this host is cut off before
   * sending, or an unknown outcome (the source asks again) when etcd did not answer.
   */
  async commit(jobId: string, vm: { uuid: string; name: string }): Promise<void> {
    if (!this.cluster) return;
    const expect = this.expected.get(jobId);
    if (!expect) {
      // An agent restarted since the prepare: it cannot know which revision it may replace.
      throw refusal(jobId, vm, 'the target agent restarted since the prepare and holds no owner revision');
    }
    if (this.inDoubt.has(jobId)) {
      const settled = await this.settle(jobId, vm);
      if (settled === 'committed') return;
    }
    if (this.fenced.has(jobId))
      throw refusal(jobId, vm, 'etcd did not answer its commit transaction, which is fenced now');
    // Cut off already: nothing is sent, the refusal is certain and the source runs on.
    let c;
    try {
      c = this.cluster.assertInTouch(`commit the migration of \`${vm.name}\``);
    } catch (e) {
      throw refusal(jobId, vm, (e as Error).message);
    }
    this.inDoubt.add(jobId);
    let r;
    try {
      r = await c.commitOwner(vm.uuid, expect, this.self, jobId);
    } catch (e) {
      throw new VmhopError(
        'VMHOP_ERR_CLUSTER_UNREACHABLE',
        `the commit of \`${vm.name}\` in etcd got no answer (${(e as Error).message}): its outcome is not known yet; the source stays paused and asks again`,
        { job: jobId, vm: vm.name, outcomeKnown: false },
      );
    }
    this.inDoubt.delete(jobId);
    if (r.outcome === 'committed') {
      this.expected.delete(jobId);
      return;
    }
    throw refusal(jobId, vm, `etcd refused the owner change: ${r.reason}`);
  }

  /**
   * Before a job whose commit may be in flight is refused or aborted: etcd already naming this
   * host (for this job) means committed; otherwise the source's revision is fenced (replaced by
   * itself, one epoch on) so the late transaction's compare fails forever. Throws while etcd
   * does not answer: neither outcome may be assumed.
   */
  async settle(jobId: string, vm: { uuid: string; name: string }): Promise<'committed' | 'not-committed'> {
    if (!this.cluster || !this.inDoubt.has(jobId)) return 'not-committed';
    const c = this.cluster.client();
    const expect = this.expected.get(jobId);
    const unknown = (why: string) =>
      new VmhopError(
        'VMHOP_ERR_CLUSTER_UNREACHABLE',
        `the commit of \`${vm.name}\` in etcd is not settled (${why}): the source stays paused until etcd answers`,
        { job: jobId, vm: vm.name, outcomeKnown: false },
      );
    if (!c || !expect) throw unknown('no cluster client');
    let owner;
    try {
      owner = await c.ownerOf(vm.uuid);
    } catch (e) {
      throw unknown((e as Error).message);
    }
    if (owner?.host === this.self && owner.job === jobId) {
      this.inDoubt.delete(jobId);
      this.expected.delete(jobId);
      return 'committed';
    }
    if (owner && owner.modRevision === expect.modRevision) {
      let f;
      try {
        f = await c.fenceOwner(vm.uuid, expect);
      } catch (e) {
        throw unknown(`fencing: ${(e as Error).message}`);
      }
      // Fenced: the late commit compares the same revision, so it can never apply now. Not
      // fenced: the revision moved since the read, and the owner found says whose it is.
      if (!f.fenced && f.owner?.host === this.self && f.owner.job === jobId) {
        this.inDoubt.delete(jobId);
        this.expected.delete(jobId);
        return 'committed';
      }
    }
    this.inDoubt.delete(jobId);
    this.fenced.add(jobId);
    return 'not-committed';
  }

  /** The job ended without a commit: its state goes. */
  forget(jobId: string): void {
    this.expected.delete(jobId);
    this.inDoubt.delete(jobId);
    this.fenced.delete(jobId);
  }
}

function refusal(jobId: string, vm: { name: string }, reason: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_MIGRATION_FAILED',
    `the target did not commit \`${vm.name}\` (${reason}); the source keeps the VM`,
    { job: jobId, vm: vm.name, outcomeKnown: true },
  );
}
