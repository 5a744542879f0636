// Target side of an offline copy: prepare makes (or, on resume, finds) one partial file per
// item, tagged with the job id (`.vmhop-partial-<job>-<name>`, hidden from volume listings),
// and opens the job's data listener; commit verifies each file against the source's chunk
// manifest, puts it in place, defines the VM and restores a saved state; abort removes only
// what this job made. No QEMU runs here until the VM is defined (libvirt's offline migration).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { VmhopError } from '../../../protocol/errors.js';
import { killAndWait } from '../../process/signals.js';
import {
  OfflineCommitRequest,
  OfflinePrepareRequest,
  strictly,
  type OfflinePrepareReply,
} from '../../peers/offline-messages.js';
import type { MigrationContext } from '../context.js';
import { serialized } from '../serialize.js';
import type { ChunkRecord } from '../wire/chunks.js';
import { readChunkLog, VolumeReceiver } from './volume-receiver.js';
import { assertCovers, verifyPartial } from './verify-partial.js';
import { assertDefinitionOfJob, offlineBrought } from './definition-of-job.js';
import { assertSpace, locateItem, removePartial, startPartial, type Placed } from './place-partial.js';
import { putInPlace, rebaseOverlays, restoreState } from './put-in-place.js';
import type { OwnerCommits } from './owner-commit.js';

export class OfflineTarget {
  private readonly receivers = new Map<string, VolumeReceiver>();

  constructor(
    private readonly c: MigrationContext,
    private readonly checkProtocol: (v: number) => void,
    /** Cluster mode: the owner key moves to this host at the commit, as for a live migration. */
    private readonly owners?: OwnerCommits,
  ) {}

  private jobDir = (jobId: string) => `${this.c.config.dataDir}/offline/${jobId}`;

  async prepare(input: OfflinePrepareRequest): Promise<OfflinePrepareReply> {
    const req = strictly(OfflinePrepareRequest, input);
    this.checkProtocol(req.protocolVersion);
    return serialized(req.jobId, async () => {
      this.openJob(req);
      try {
        const placed: Placed[] = [];
        for (const item of req.items) placed.push(await locateItem(this.c, req, item));
        await assertSpace(this.c, placed);
        for (const p of placed) await startPartial(this.c, req.jobId, p);
        await mkdir(this.jobDir(req.jobId), { recursive: true, mode: 0o700 });
        await writeFile(`${this.jobDir(req.jobId)}/items.json`, JSON.stringify(placed));
        const rx = this.receiverOf(req.jobId);
        const items = [];
        for (const p of placed) {
          if (p.status === 'copy') rx.accept(p.key, p.partial, p.sizeBytes);
          items.push({
            key: p.key,
            status: p.status,
            have: p.status === 'copy' ? await readChunkLog(p.partial) : [],
          });
        }
        const port = await rx.listen(this.c.migrationAddress, this.c.migrationPorts);
        return { address: this.c.migrationAddress, port, token: rx.token, items };
      } catch (e) {
        await this.drop(req.jobId, `prepare failed: ${(e as Error).message}`).catch(() => undefined);
        throw e;
      }
    });
  }

  /** Creates the target job, or reopens it when the source resumes an interrupted copy. */
  private openJob(req: OfflinePrepareRequest) {
    const job = this.c.jobs.find(req.jobId);
    if (job) {
      if (job.peer !== req.source || job.vm !== req.vm) {
        throw new VmhopError(
          'VMHOP_ERR_PEER_NOT_OF_JOB',
          `job \`${req.jobId}\` here copies \`${job.vm}\` from \`${job.peer}\`, not \`${req.vm}\` from \`${req.source}\``,
          { job: req.jobId, peer: req.source },
        );
      }
      if (job.role !== 'target' || (job.state !== 'running' && job.state !== 'interrupted')) {
        throw new VmhopError('VMHOP_ERR_JOB_ENDED', `job \`${req.jobId}\` already ended ${job.state} here`, {
          job: req.jobId,
        });
      }
      if (job.state === 'interrupted')
        this.c.jobs.reopen(req.jobId, `the source \`${req.source}\` resumes the copy`);
      return;
    }
    const existing = req.volumeCopy ? undefined : this.c.vmStore.get(req.vm);
    if (existing) {
      throw new VmhopError(
        'VMHOP_ERR_VM_EXISTS',
        `host \`${this.c.config.name}\` already has VM \`${req.vm}\` (${existing.state}); undefine it there before migrating it in`,
        { vm: req.vm, host: this.c.config.name },
      );
    }
    this.c.jobs.create({
      id: req.jobId,
      vm: req.vm,
      mode: 'offline',
      role: 'target',
      peer: req.source,
      phase: 'prepare',
      options: req.options,
      protocolVersion: req.protocolVersion,
    });
  }

  private receiverOf(jobId: string): VolumeReceiver {
    let rx = this.receivers.get(jobId);
    if (!rx) {
      const tls = this.c.config.tls;
      if (!tls)
        throw new VmhopError(
          'VMHOP_ERR_PEER_AUTH',
          'this agent has no TLS material for the data listener',
          {},
        );
      rx = new VolumeReceiver(tls, this.c.jobs.get(jobId).peer, () => void this.closeReceiver(jobId));
      this.receivers.set(jobId, rx);
    }
    return rx;
  }

  private async closeReceiver(jobId: string) {
    const rx = this.receivers.get(jobId);
    this.receivers.delete(jobId);
    await rx?.close();
  }

  /** The source lost the data link: keep the partial files for a resume, stop listening. */
  async pause(jobId: string, reason: string): Promise<void> {
    return serialized(jobId, async () => {
      const job = this.c.jobs.find(jobId);
      if (!job || job.role !== 'target' || job.state !== 'running') return;
      await this.closeReceiver(jobId);
      this.c.jobs.journal(jobId, `interrupted: ${reason}`);
      this.c.jobs.end(jobId, 'interrupted');
    });
  }

  async commit(input: OfflineCommitRequest): Promise<void> {
    const req = strictly(OfflineCommitRequest, input);
    this.checkProtocol(req.protocolVersion);
    return serialized(req.jobId, async () => {
      const job = this.c.jobs.get(req.jobId);
      if (job.role !== 'target' || job.state !== 'running') {
        throw new VmhopError('VMHOP_ERR_JOB_ENDED', `incoming job \`${req.jobId}\` is ${job.state} here`, {
          job: req.jobId,
        });
      }
      // The definition is the VM this job's prepare reserved (and whose state file it placed).
      if (req.spec && req.spec.name !== job.vm) {
        throw new VmhopError(
          'VMHOP_ERR_MIGRATION_FAILED',
          `job \`${req.jobId}\` copies \`${job.vm}\`; its commit cannot define \`${req.spec.name}\``,
          { job: req.jobId, vm: req.spec.name },
        );
      }
      const hashed = this.receivers.get(req.jobId)?.hashedOnArrival();
      await this.closeReceiver(req.jobId);
      const placed = JSON.parse(await readFile(`${this.jobDir(req.jobId)}/items.json`, 'utf8')) as Placed[];
      if (req.spec) await assertDefinitionOfJob(this.c, req.spec, offlineBrought(this.c, placed));
      for (const p of placed.filter((x) => x.status === 'copy')) {
        const m = req.manifests.find((x) => x.key === p.key);
        if (!m)
          throw new VmhopError('VMHOP_ERR_MIGRATION_FAILED', `no manifest for \`${p.key}\``, { key: p.key });
        assertCovers(p, m.chunks);
        await verifyPartial(p.partial, m.chunks as ChunkRecord[], hashed?.get(p.key));
      }
      if (req.spec && this.owners?.enabled) {
        await this.owners.atPrepare(req.jobId, req.spec, job.peer);
        await this.owners.commit(req.jobId, req.spec);
        this.c.jobs.journal(req.jobId, 'etcd names this host the owner (the commit point)');
      }
      this.c.jobs.advance(req.jobId, 'finish', 'every copied file matches the source manifest');
      for (const p of placed.filter((x) => x.status === 'copy')) await putInPlace(this.c, req.jobId, p);
      await rebaseOverlays(placed);
      if (req.spec) {
        this.c.vmStore.insert(req.spec, 'shutoff', 'local');
        this.c.jobs.addArtifact(req.jobId, 'vm-definition', req.spec.name);
        this.c.events.publish({ type: 'vm.defined', vm: req.spec.name });
      }
      if (req.state && req.spec) await restoreState(this.c, req.jobId, req.spec, req.state);
      this.c.jobs.end(req.jobId, 'completed');
      await rm(this.jobDir(req.jobId), { recursive: true, force: true });
      this.c.events.publish({ type: 'job.ended', job: req.jobId, vm: job.vm, state: 'completed' });
    });
  }

  /** Cancel or failure: removes what this job made, newest first; never a volume it found. */
  async abort(jobId: string, reason: string): Promise<void> {
    return serialized(jobId, () => this.drop(jobId, reason));
  }

  /**
   * Interrupted copies whose source has not resumed them within `ttlMs` expire: their
   * partial files are removed (the source's VM and disks were never touched). Returns the
   * expired job ids.
   */
  async expireInterrupted(ttlMs: number, now = Date.now()): Promise<string[]> {
    const stale = this.c.jobs
      .list(1_000)
      .filter(
        (j) => j.role === 'target' && j.state === 'interrupted' && now - Date.parse(j.updatedAt) > ttlMs,
      );
    for (const j of stale)
      await this.abort(j.id, `expired: not resumed within ${Math.round(ttlMs / 3_600_000)} h`);
    return stale.map((j) => j.id);
  }

  /** abort's work, for callers already inside the job's serialized section. */
  private async drop(jobId: string, reason: string): Promise<void> {
    const job = this.c.jobs.find(jobId);
    if (!job || job.role !== 'target' || (job.state !== 'running' && job.state !== 'interrupted')) return;
    this.c.jobs.journal(jobId, `abort: ${reason}`);
    await this.closeReceiver(jobId);
    let first: unknown;
    for (const a of this.c.jobs.artifacts(jobId)) {
      try {
        if (a.kind === 'qemu') {
          this.c.supervisor.expectExit(job.vm);
          await killAndWait(Number(a.ref), 5_000);
          await this.c.vms.settle(job.vm);
        } else if (a.kind === 'vm-definition') this.c.vmStore.delete(a.ref);
        else if (a.kind === 'volume') await removePartial(a.ref);
        this.c.jobs.removeArtifact(jobId, a.kind, a.ref);
      } catch (e) {
        first ??= e;
        this.c.jobs.journal(jobId, `cleanup of ${a.kind} ${a.ref} failed: ${(e as Error).message}`);
      }
    }
    await rm(this.jobDir(jobId), { recursive: true, force: true });
    if (job.state === 'running' || job.state === 'interrupted') this.c.jobs.end(jobId, 'cancelled');
    this.c.events.publish({ type: 'job.ended', job: jobId, vm: job.vm, state: 'cancelled' });
    if (first) throw first;
  }
}
