// The target side of a migration: prepare (volumes and NBD exports for a live-copy,
// definition, paused QEMU with -incoming defer, listener for this job only), finish (the commit record, then resume) and abort (remove
// exactly what this job made). finish and abort are serialized per job.
import { rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { announceSelf, cont, queryMigrate, timestampMs, type QmpExecutor } from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, refusalOf } from '../../../protocol/protocol-version.js';
import type { JobInfo } from '../../../protocol/migration.js';
import { killAndWait } from '../../process/signals.js';
import { strictly } from '../../peers/offline-messages.js';
import {
  PrepareRequest,
  type FinishReply,
  type PostcopyAction,
  type PostcopyReply,
  type PrepareReply,
} from '../../peers/peer-link.js';
import type { MigrationContext } from '../context.js';
import { addTlsCreds, admitOnlyPeer, applySettings, removePeerAuthz } from '../qemu-settings.js';
import { pollUntil } from '../../poll-until.js';
import { untilMigrationEvent } from '../../vm/migration-wait.js';
import { serialized } from '../serialize.js';
import { assertDefinitionOfJob } from './definition-of-job.js';
import { createTargetVolumes, deleteTargetVolume } from './create-target-volumes.js';
import { exportDisks, NBD_SERVER_ARTIFACT, removeNbdArtifact } from './export-disks.js';
import { listenIncoming, type ListenOptions } from './listen.js';
import type { RamGate } from './ram-gate.js';
import { OfflineTarget } from './offline-target.js';
import {
  checkReadyForPostcopy,
  followPostcopyIncoming,
  pauseIncoming,
  recoverIncoming,
  waitPostcopyRunnable,
} from './postcopy-target.js';
import { watchIncoming } from './watch-incoming.js';
import { CommitWindows } from './commit-window.js';
import { OwnerCommits } from './owner-commit.js';

/** A message from the source in a version outside this agent's range is refused, naming the range. */
export function checkProtocol(version: number): void {
  const refusal = refusalOf(version);
  if (refusal) {
    throw new VmhopError('VMHOP_ERR_PEER_PROTOCOL', refusal, {
      theirs: version,
      ours: PROTOCOL_VERSION,
      oursMin: MIN_PROTOCOL_VERSION,
    });
  }
}

export class TargetSide {
  /** Offline copies: no incoming QEMU, partial files and a data listener instead. */
  readonly offline: OfflineTarget;
  /** Post-copy recovery listeners by job, so a repeated recover answers the port QEMU still listens on. */
  private readonly recovering = new Map<string, number>();
  /** Each job's RAM gates (the first listener, then post-copy recoveries), closed when it ends. */
  private readonly gates = new Map<string, RamGate[]>();
  /** The addresses each job's gates admit: the source's migration addresses and its agent's. */
  private readonly sources = new Map<string, string[]>();
  /** When each incoming migration completed, for the commit's time limit (F14). */
  private readonly windows = new CommitWindows();
  /** Cluster mode: the owner key in etcd is the commit point (none in embedded mode). */
  private readonly owners: OwnerCommits;

  constructor(private readonly c: MigrationContext) {
    this.owners = new OwnerCommits(c.cluster, c.config.name);
    this.offline = new OfflineTarget(c, checkProtocol, this.owners);
  }

  /** `caller`: the address the prepare came from (the source agent), admitted beside the ones it names. */
  async prepare(input: PrepareRequest, caller?: string): Promise<PrepareReply> {
    const req = strictly(PrepareRequest, input);
    checkProtocol(req.protocolVersion);
    return serialized(req.jobId, async () => {
      const { spec } = req;
      const existing = this.c.vmStore.get(spec.name) ?? this.c.vmStore.byUuid(spec.uuid);
      if (existing) {
        throw new VmhopError(
          'VMHOP_ERR_VM_EXISTS',
          `host \`${this.c.config.name}\` already has VM \`${existing.name}\` (${existing.state}); undefine it there before migrating \`${spec.name}\` in`,
          { vm: existing.name, host: this.c.config.name },
        );
      }
      const created = new Set((req.disks ?? []).map((d) => `${d.pool}/${d.volume}`));
      await this.owners.atPrepare(req.jobId, spec, req.source);
      await assertDefinitionOfJob(this.c, spec, (d) => created.has(`${d.pool}/${d.volume}`));
      this.c.jobs.create({
        id: req.jobId,
        vm: spec.name,
        mode: req.mode,
        role: 'target',
        peer: req.source,
        phase: 'prepare',
        options: req.options,
        guestWasRunning: req.guestRunning,
        protocolVersion: req.protocolVersion,
      });
      try {
        if (req.disks?.length) await createTargetVolumes(this.c, req.jobId, req.disks);
        const row = this.c.vmStore.insert(spec, 'shutoff', `incoming:${req.jobId}`);
        this.c.jobs.addArtifact(req.jobId, 'vm-definition', spec.name);
        const pid = await this.c.vms.launch(row, { paused: true, incoming: true });
        this.c.jobs.addArtifact(req.jobId, 'qemu', String(pid));
        const qmp = this.qmp(spec.name);
        await applySettings(qmp, req.settings);
        if (req.tls) {
          if (!this.c.tlsDir)
            throw new VmhopError(
              'VMHOP_ERR_MIGRATION_FAILED',
              `host \`${this.c.config.name}\` has no TLS material for an encrypted migration`,
              {},
            );
          await addTlsCreds(qmp, this.c.tlsDir, 'server');
          // The route checked that the caller's certificate is `source`'s; QEMU checks it again.
          await admitOnlyPeer(qmp, req.source);
        }
        const nbd = req.disks?.length
          ? await exportDisks(
              this.c,
              qmp,
              req.jobId,
              req.disks.map((d) => d.target),
              req.tls,
            )
          : undefined;
        this.sources.set(req.jobId, admitted(req.sourceAddresses ?? [], caller));
        const gate = await listenIncoming(qmp, this.listenOptions(req.jobId, spec.name, req.tls, 'incoming'));
        this.keepGate(req.jobId, gate);
        this.windows.watch(req.jobId, qmp, req.commitWindowMs);
        const port = gate.port;
        this.c.jobs.journal(
          req.jobId,
          `listening on ${this.c.migrationAddress}:${port}${req.tls ? ' (TLS)' : ' (plaintext)'} for ${this.sources.get(req.jobId)?.join(', ') || 'any address'}`,
        );
        // A closed registry (agent shutdown) ends its loop with an error, which is no failure of the job.
        void watchIncoming(this.c, req.jobId, (reason) => this.abort(req.jobId, reason)).catch(
          (err: unknown) => this.c.log.debug({ job: req.jobId, err }, 'incoming watchdog stopped'),
        );
        return {
          address: this.c.migrationAddress,
          port,
          migrationPorts: this.c.migrationPorts,
          ...(nbd ? { nbd } : {}),
        };
      } catch (e) {
        await this.cleanup(req.jobId);
        this.c.jobs.end(req.jobId, 'failed', undefined);
        throw e;
      }
    });
  }

  private qmp(vm: string) {
    const qmp = this.c.supervisor.qmpOf(vm);
    if (!qmp)
      throw new VmhopError('VMHOP_ERR_MIGRATION_FAILED', `the incoming QEMU of \`${vm}\` is gone`, { vm });
    return qmp;
  }

  /**
   * The commit point: the durable "target owns the VM" record, then resume. After a post-copy
   * commit the record already exists: the target waits for the device state, resumes, and keeps
   * the job running until the last page has arrived.
   */
  async finish(jobId: string): Promise<FinishReply> {
    const arrived = Date.now();
    return serialized(jobId, async (): Promise<FinishReply> => {
      const job = this.incoming(jobId);
      // Committed (phase finish) is an answer that never changes, whatever happened here since:
      // a target whose QEMU died after its commit still owns the VM, and the source must not run it.
      if (job.phase === 'finish' && job.state !== 'running') {
        if (job.state !== 'completed')
          this.c.jobs.journal(jobId, `finish asked again after the commit; the job ended ${job.state} here`);
        return { handledMs: Date.now() - arrived };
      }
      if (job.state !== 'running') {
        throw new VmhopError(
          'VMHOP_ERR_JOB_ENDED',
          `incoming job \`${jobId}\` already ended ${job.state} before any commit; the target did not resume the VM`,
          { job: jobId, state: job.state },
        );
      }
      const qmp = this.qmp(job.vm);
      const postcopy = job.phase === 'finish';
      if (postcopy) await waitPostcopyRunnable(qmp, 60_000);
      else {
        await waitIncomingCompleted(qmp, 30_000);
        await new Promise((r) => setImmediate(r)); // the completed event came before the reply: stamped now
        // A commit sent to etcd without an answer is settled before anything is refused: if etcd
        // names this host, the VM is this host's, however late the source asks again.
        const inEtcd = await this.owners.settle(jobId, this.subject(jobId));
        const late = inEtcd === 'committed' ? undefined : this.windows.lateBy(jobId);
        if (late) await this.refuseLateCommit(jobId, job.vm, late);
        if (inEtcd !== 'committed') await this.commitInEtcd(jobId);
        await this.stopNbd(jobId, qmp);
        this.commitRecord(jobId, 'target owns the VM (commit record written)');
        await this.closeGates(jobId);
      }
      // Committed: whatever fails from here on, the answer is "committed" (the source must never
      // run the VM again), with the failure named.
      let resumedAfterMs: number | undefined;
      try {
        // A guest that was paused on the source stays paused here (post-copy must run to fetch its pages).
        if (postcopy || job.guestWasRunning) {
          // The resume as QEMU stamped it (RESUME comes before cont's reply), not when the reply
          // was read: in post-copy a busy target answered up to 0.6 s after it resumed.
          const stamped = qmp.waitEvent('RESUME', undefined, { timeoutMs: 2_000 }).then(
            (e) => timestampMs(e.timestamp),
            () => undefined,
          );
          await cont(qmp);
          const read = Date.now();
          const at = await Promise.race([
            stamped,
            new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
          ]);
          resumedAfterMs = Math.min(at ?? read, read) - arrived;
          this.c.supervisor.setState(job.vm, 'running');
        } else {
          this.c.supervisor.setState(job.vm, 'paused');
          this.c.jobs.journal(jobId, 'the guest was paused on the source: left paused here');
        }
      } catch (e) {
        const resumeError = `committed, but resuming \`${job.vm}\` here failed: ${(e as Error).message}; the VM is this host's: \`vmhop resume ${job.vm}\` or \`vmhop start ${job.vm}\` here`;
        this.c.jobs.journal(jobId, resumeError);
        this.c.jobs.end(jobId, 'failed');
        this.c.events.publish({ type: 'job.ended', job: jobId, vm: job.vm, state: 'failed' });
        return { handledMs: Date.now() - arrived, resumeError };
      }
      await announceSelf(qmp, { initial: 50, max: 550, rounds: 5, step: 100 }).catch(() => undefined);
      if (postcopy) {
        this.c.jobs.journal(jobId, 'resumed; post-copy brings the remaining pages');
        this.followPostcopy(jobId);
        return { resumedAfterMs, handledMs: Date.now() - arrived };
      }
      await this.dropPeerAuthz(jobId);
      this.c.jobs.end(jobId, 'completed');
      this.c.events.publish({ type: 'job.ended', job: jobId, vm: job.vm, state: 'completed' });
      return { ...(resumedAfterMs === undefined ? {} : { resumedAfterMs }), handledMs: Date.now() - arrived };
    });
  }

  /**
   * Keeps a committed post-copy job running until the last page has arrived (also after an agent
   * restart, which cut the stream: the source pauses and recovers it through a new listener).
   * migrate-recover needs the peer rule until then: it goes when the job ends.
   */
  followPostcopy(jobId: string): void {
    void followPostcopyIncoming(this.c, jobId).finally(async () => {
      this.recovering.delete(jobId);
      await this.closeGates(jobId);
      return this.dropPeerAuthz(jobId);
    });
  }

  /** Post-copy steps the source asks for: the early commit, and pause / recover of a stalled stream. */
  async postcopy(jobId: string, action: PostcopyAction, caller?: string): Promise<PostcopyReply> {
    return serialized(jobId, async () => {
      const job = this.incoming(jobId);
      if (job.state !== 'running' && job.phase === 'finish' && action === 'commit')
        return { status: 'committed' };
      if (job.state !== 'running') {
        throw new VmhopError('VMHOP_ERR_JOB_ENDED', `incoming job \`${jobId}\` already ended ${job.state}`, {
          job: jobId,
          state: job.state,
          outcomeKnown: true,
        });
      }
      const qmp = this.qmp(job.vm);
      if (action === 'commit') {
        if (job.phase !== 'finish') {
          await checkReadyForPostcopy(qmp);
          await this.commitInEtcd(jobId);
          this.commitRecord(jobId, 'target owns the VM (commit record written before post-copy)');
        }
        return { status: 'committed' };
      }
      if (job.phase !== 'finish') {
        throw new VmhopError(
          'VMHOP_ERR_VM_STATE',
          `incoming job \`${jobId}\` is not in post-copy (phase ${job.phase}): nothing to ${action}`,
          { job: jobId, outcomeKnown: true },
        );
      }
      this.c.jobs.journal(jobId, `post-copy ${action} (asked by the source)`);
      if (action === 'pause') return pauseIncoming(qmp);
      // After an agent restart the addresses are asked of the source again.
      // Not learnt, the gate would admit only the caller's API address and refuse every resumed
      // stream from the source's migration address: this attempt is refused instead, and the
      // source asks again.
      if (!this.sources.has(jobId)) {
        const info = await this.c
          .peer(job.peer)
          .hostInfo()
          .catch(() => undefined);
        if (!info || !isIP(info.migrationAddress)) {
          throw new VmhopError(
            'VMHOP_ERR_PEER_UNREACHABLE',
            `cannot learn \`${job.peer}\`'s migration address to admit its resumed post-copy stream; the source tries again`,
            { job: jobId, peer: job.peer, outcomeKnown: true },
          );
        }
        this.sources.set(jobId, admitted([info.migrationAddress], caller));
      }
      // Unique, also across restarts: listenIncoming removes the path first, which must never be
      // the socket QEMU still listens on from an earlier attempt.
      const name = `recover-${Date.now().toString(36)}`;
      return recoverIncoming(
        qmp,
        this.listenOptions(jobId, job.vm, !job.options.insecure, name),
        this.recovering,
        jobId,
        (g) => this.keepGate(jobId, g),
      );
    });
  }

  /**
   * A finish taken after the source stopped waiting for it: the source may run the VM again by
   * now, so this copy must never run. Removes it (QEMU, definition, volumes) and refuses.
   */
  private async refuseLateCommit(
    jobId: string,
    vm: string,
    late: { lateMs: number; windowMs: number },
  ): Promise<never> {
    const why = `finish taken ${Math.round(late.lateMs / 1000)} s after the source's commit window (${Math.round(late.windowMs / 1000)} s from the end of the copy) had closed: the source may run \`${vm}\` again, so this host never runs it (was this agent frozen or overloaded?)`;
    this.c.jobs.journal(jobId, `refused the commit: ${why}`);
    await this.cleanup(jobId);
    this.c.jobs.end(jobId, 'failed', undefined);
    this.c.events.publish({ type: 'job.ended', job: jobId, vm, state: 'failed' });
    throw new VmhopError('VMHOP_ERR_JOB_ENDED', `incoming job \`${jobId}\` did not commit: ${why}`, {
      job: jobId,
      outcomeKnown: true,
    });
  }

  /** The agent stops: every gate closes with its connections, as the process's exit would. */
  close(): void {
    this.windows.close();
    for (const gates of this.gates.values()) for (const g of gates) g.close({ joined: true });
    this.gates.clear();
  }

  private listenOptions(jobId: string, vm: string, tls: boolean, name: string): ListenOptions {
    return {
      address: this.c.migrationAddress,
      ports: this.c.migrationPorts,
      allowed: this.sources.get(jobId) ?? [],
      tls,
      note: (entry) => this.c.jobs.journal(jobId, entry),
      socket: `${this.c.vms.runDirOf(vm)}/${name}.sock`,
    };
  }

  private keepGate(jobId: string, gate: RamGate): void {
    this.gates.set(jobId, [...(this.gates.get(jobId) ?? []), gate]);
  }

  /** Stops listening for the job; connections already joined to QEMU end with its streams. */
  private async closeGates(jobId: string): Promise<void> {
    for (const g of this.gates.get(jobId) ?? []) {
      g.close();
      await rm(g.upstream, { force: true });
    }
    this.gates.delete(jobId);
    this.sources.delete(jobId);
    this.windows.forget(jobId);
  }

  private incoming(jobId: string) {
    const job = this.c.jobs.get(jobId);
    if (job.role !== 'target')
      throw new VmhopError('VMHOP_ERR_JOB_NOT_FOUND', `job \`${jobId}\` is not an incoming migration here`, {
        job: jobId,
      });
    return job;
  }

  /** The VM of an incoming job, as etcd's owner key knows it. */
  private subject(jobId: string): { uuid: string; name: string } {
    const vm = this.c.jobs.get(jobId).vm;
    const row = this.c.vmStore.get(vm);
    return { uuid: row?.spec.uuid ?? '', name: vm };
  }

  /**
   * Cluster mode: the owner change in etcd, the commit point. Refused by etcd (or cut off before
   * sending): this side is removed and the source told for certain. No answer: the job stays as
   * it is, the source is told the outcome is unknown and asks again.
   */
  private async commitInEtcd(jobId: string): Promise<void> {
    if (!this.owners.enabled) return;
    try {
      await this.owners.commit(jobId, this.subject(jobId));
      this.c.jobs.journal(jobId, 'etcd names this host the owner (the commit point)');
    } catch (e) {
      const err = e as VmhopError;
      if (err.details?.outcomeKnown !== true) {
        this.c.jobs.journal(jobId, `commit in etcd not known: ${err.message}`);
        throw e;
      }
      this.c.jobs.journal(jobId, `refused the commit: ${err.message}`);
      this.owners.forget(jobId);
      await this.cleanup(jobId);
      const vm = this.c.jobs.get(jobId).vm;
      this.c.jobs.end(jobId, 'failed', undefined);
      this.c.events.publish({ type: 'job.ended', job: jobId, vm, state: 'failed' });
      throw e;
    }
  }

  /** Writes the commit record; the copied volumes belong to the VM from then on. */
  private commitRecord(jobId: string, note: string): void {
    this.c.vmStore.update(this.c.jobs.get(jobId).vm, { owner: 'local' });
    this.c.jobs.advance(jobId, 'finish', note);
    // The copied volumes are the VM's now: no later cleanup of this job may delete them.
    for (const a of this.c.jobs.artifacts(jobId).filter((x) => x.kind === 'volume'))
      this.c.jobs.removeArtifact(jobId, a.kind, a.ref);
  }

  async abort(jobId: string, reason: string): Promise<void> {
    if (this.c.jobs.find(jobId)?.mode === 'offline') return this.offline.abort(jobId, reason);
    return serialized(jobId, async () => {
      const job = this.c.jobs.find(jobId);
      if (!job || job.role !== 'target' || job.state !== 'running') return;
      if (job.phase === 'finish') {
        throw new VmhopError(
          'VMHOP_ERR_VM_STATE',
          `incoming job \`${jobId}\` is committed: the target owns \`${job.vm}\` now`,
          { job: jobId },
        );
      }
      if ((await this.owners.settle(jobId, this.subject(jobId))) === 'committed') {
        throw new VmhopError(
          'VMHOP_ERR_VM_STATE',
          `incoming job \`${jobId}\` is committed in etcd: the target owns \`${job.vm}\` now and resumes it at the next finish`,
          { job: jobId },
        );
      }
      this.owners.forget(jobId);
      this.c.jobs.journal(jobId, `abort: ${reason}`);
      await this.cleanup(jobId);
      this.c.jobs.end(jobId, 'failed', undefined);
      this.c.events.publish({ type: 'job.ended', job: jobId, vm: job.vm, state: 'failed' });
    });
  }

  /**
   * The resumed VM's QEMU keeps no authz rule naming the old source. A failure is journalled, not
   * thrown: the guest already runs here, and nothing listens that the rule would guard.
   */
  private async dropPeerAuthz(jobId: string): Promise<void> {
    const job = this.c.jobs.find(jobId);
    const qmp = job && !job.options.insecure ? this.c.supervisor.qmpOf(job.vm) : undefined;
    if (!qmp) return;
    await removePeerAuthz(qmp).catch((e: unknown) =>
      this.c.jobs.journal(jobId, `removing the TLS peer rule failed: ${(e as Error).message}`),
    );
  }

  /** No export outlives the copy: the source ended its mirrors before the switchover. */
  private async stopNbd(jobId: string, qmp: QmpExecutor): Promise<void> {
    for (const a of this.c.jobs.artifacts(jobId).filter((x) => x.kind === 'nbd-export')) {
      if (a.ref === NBD_SERVER_ARTIFACT) await removeNbdArtifact(qmp, a.ref);
      this.c.jobs.removeArtifact(jobId, a.kind, a.ref);
    }
  }

  /** Removes what this job made, newest first; every step runs, the first error is kept. */
  private async cleanup(jobId: string): Promise<void> {
    let first: unknown;
    for (const a of this.c.jobs.artifacts(jobId)) {
      try {
        if (a.kind === 'qemu') {
          const vm = this.c.jobs.get(jobId).vm;
          this.c.supervisor.expectExit(vm);
          await killAndWait(Number(a.ref), 5_000);
          await this.c.vms.settle(vm);
        } else if (a.kind === 'vm-definition') {
          this.c.vmStore.delete(a.ref);
        } else if (a.kind === 'nbd-export') {
          // A QEMU that is already gone took its server and exports with it.
          const qmp = this.c.supervisor.qmpOf(this.c.jobs.get(jobId).vm);
          if (qmp) await removeNbdArtifact(qmp, a.ref);
        } else if (a.kind === 'volume') {
          await deleteTargetVolume(this.c, a.ref);
        }
        this.c.jobs.removeArtifact(jobId, a.kind, a.ref);
      } catch (e) {
        first ??= e;
        this.c.jobs.journal(jobId, `cleanup of ${a.kind} ${a.ref} failed: ${(e as Error).message}`);
      }
    }
    await this.closeGates(jobId);
    if (first) throw first;
  }

  info(jobId: string): JobInfo {
    const { options: _o, ...job } = this.c.jobs.get(jobId);
    return job;
  }
}

/** The source's addresses and its agent's, each once. */
function admitted(named: string[], caller: string | undefined): string[] {
  return [...new Set([...named, ...(caller ? [caller] : [])])];
}

async function waitIncomingCompleted(
  qmp: Parameters<typeof queryMigrate>[0],
  timeoutMs: number,
): Promise<void> {
  let st: string | undefined;
  const done = await pollUntil(
    async () => {
      st = (await queryMigrate(qmp)).status;
      if (st === 'completed') return true;
      if (st === 'failed' || st === 'cancelled') {
        throw new VmhopError('VMHOP_ERR_MIGRATION_FAILED', `the incoming migration ${st} on the target`, {
          status: st,
        });
      }
      return undefined;
    },
    { intervalMs: 50, deadlineMs: timeoutMs, wait: untilMigrationEvent(qmp) },
  );
  if (!done) {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_FAILED',
      `the incoming migration did not complete on the target within ${timeoutMs / 1000} s (status ${st ?? 'none'})`,
      { status: st },
    );
  }
}
