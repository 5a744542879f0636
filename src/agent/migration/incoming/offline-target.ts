// Target side of an offline copy: prepare makes (or, on resume, finds) one partial file per
// item, tagged with the job id (`.vmhop-partial-<job>-<name>`, hidden from volume listings),
// and opens the job's data listener; commit verifies each file against the source's chunk
// manifest, puts it in place, defines the VM and restores a saved state; abort removes only
// what this job made. No QEMU runs here until the VM is defined (libvirt's offline migration).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { VmhopError } from '../../../protocol/errors.js';
import { saveFiles, SaveRestore } from '../../vm/save-restore.js';
import * as qemuImg from '../../tools/qemu-img.js';
import { killAndWait } from '../../process/signals.js';
import type {
  OfflineCommitRequest,
  OfflineItem,
  OfflinePrepareReply,
  OfflinePrepareRequest,
} from '../../peers/offline-messages.js';
import type { MigrationContext } from '../context.js';
import { serialized } from '../serialize.js';
import { chunkLogOf, readChunkLog, VolumeReceiver, type ChunkRecord } from './volume-receiver.js';
import { verifyPartial } from './verify-partial.js';

interface Placed extends OfflineItem {
  status: 'present' | 'copy';
  partial: string;
  final: string;
}

export class OfflineTarget {
  private readonly receivers = new Map<string, VolumeReceiver>();

  constructor(
    private readonly c: MigrationContext,
    private readonly checkProtocol: (v: number) => void,
  ) {}

  private jobDir = (jobId: string) => `${this.c.config.dataDir}/offline/${jobId}`;

  async prepare(req: OfflinePrepareRequest): Promise<OfflinePrepareReply> {
    this.checkProtocol(req.protocolVersion);
    return serialized(req.jobId, async () => {
      this.openJob(req);
      try {
        const placed: Placed[] = [];
        for (const item of req.items) placed.push(await this.place(req, item));
        await this.assertSpace(placed);
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
        const port = await rx.listen(this.c.migrationAddress);
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
      if (job.role !== 'target' || (job.state !== 'running' && job.state !== 'interrupted')) {
        throw new VmhopError(
          'VMHOP_ERR_MIGRATION_FAILED',
          `job \`${req.jobId}\` already ended ${job.state} here`,
          {
            job: req.jobId,
          },
        );
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
    });
  }

  private async place(req: OfflinePrepareRequest, item: OfflineItem): Promise<Placed> {
    let final: string;
    let dir: string;
    if (item.kind === 'state') {
      final = saveFiles(this.c.config.dataDir, req.vm).state;
      dir = `${this.c.config.dataDir}/save`;
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } else {
      const pool = await this.c.storage.poolInfo(item.pool ?? '');
      if (pool.kind === 'block' || !pool.path) {
        throw new VmhopError(
          'VMHOP_ERR_VOLUME_UNSUPPORTED',
          `pool \`${pool.name}\` on \`${this.c.config.name}\` is a block pool: copies land in a dir or shared pool (use --target-pool, and --target-device to write a device)`,
          { pool: pool.name },
        );
      }
      final = await this.c.storage.resolvePath(pool.name, item.name ?? '', { mustExist: false });
      dir = pool.path;
    }
    const partial = `${dir}/.vmhop-partial-${req.jobId}-${item.kind === 'state' ? 'vmstate' : item.name}`;
    const there = await open(final, 'r').then(
      (fh) => fh.close().then(() => true),
      () => false,
    );
    if (there) {
      if (item.contentSha256 && (await fileSha256(final)) === item.contentSha256) {
        return { ...item, status: 'present', partial, final };
      }
      throw new VmhopError(
        'VMHOP_ERR_VOLUME_EXISTS',
        `\`${final}\` already exists on \`${this.c.config.name}\`${item.contentSha256 ? ' with other content' : ''}: delete it there, or pick another pool with --target-pool`,
        { path: final, host: this.c.config.name },
      );
    }
    const meta = `${partial}.meta`;
    const known = await readFile(meta, 'utf8').catch(() => '');
    if (known !== `${item.fingerprint} ${item.sizeBytes}`) {
      // A new copy, or the source file changed since the interruption: start this one over.
      this.c.jobs.addArtifact(req.jobId, 'volume', partial);
      await writeFile(partial, '', { mode: 0o600 });
      await truncate(partial, item.sizeBytes);
      await rm(chunkLogOf(partial), { force: true });
      await writeFile(meta, `${item.fingerprint} ${item.sizeBytes}`);
    }
    return { ...item, status: 'copy', partial, final };
  }

  private async assertSpace(placed: Placed[]) {
    const need = new Map<string, number>();
    for (const p of placed) {
      if (p.status !== 'copy' || !p.pool) continue;
      const have = (await readChunkLog(p.partial)).reduce((s, c) => s + c.length, 0);
      need.set(p.pool, (need.get(p.pool) ?? 0) + Math.max(0, p.dataBytes - have));
    }
    for (const [pool, bytes] of need) {
      const info = await this.c.storage.poolInfo(pool);
      if (bytes > info.freeBytes) {
        throw new VmhopError(
          'VMHOP_ERR_VOLUME_NO_SPACE',
          `pool \`${pool}\` on \`${this.c.config.name}\` has ${info.freeBytes} bytes free, the copy needs ${bytes}: free space there or pick another pool with --target-pool`,
          { pool, needBytes: bytes, freeBytes: info.freeBytes },
        );
      }
    }
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
      rx = new VolumeReceiver(tls, () => void this.closeReceiver(jobId));
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

  async commit(req: OfflineCommitRequest): Promise<void> {
    this.checkProtocol(req.protocolVersion);
    return serialized(req.jobId, async () => {
      const job = this.c.jobs.get(req.jobId);
      if (job.role !== 'target' || job.state !== 'running') {
        throw new VmhopError(
          'VMHOP_ERR_MIGRATION_FAILED',
          `incoming job \`${req.jobId}\` is ${job.state} here`,
          {
            job: req.jobId,
          },
        );
      }
      await this.closeReceiver(req.jobId);
      const placed = JSON.parse(await readFile(`${this.jobDir(req.jobId)}/items.json`, 'utf8')) as Placed[];
      for (const p of placed.filter((x) => x.status === 'copy')) {
        const m = req.manifests.find((x) => x.key === p.key);
        if (!m)
          throw new VmhopError('VMHOP_ERR_MIGRATION_FAILED', `no manifest for \`${p.key}\``, { key: p.key });
        await verifyPartial(p.partial, m.chunks as ChunkRecord[]);
      }
      this.c.jobs.advance(req.jobId, 'finish', 'every copied file matches the source manifest');
      for (const p of placed.filter((x) => x.status === 'copy')) await this.putInPlace(req.jobId, p);
      await this.rebaseOverlays(placed);
      if (req.spec) {
        this.c.vmStore.insert(req.spec, 'shutoff', 'local');
        this.c.jobs.addArtifact(req.jobId, 'vm-definition', req.spec.name);
        this.c.events.publish({ type: 'vm.defined', vm: req.spec.name });
      }
      if (req.state && req.spec) {
        const files = saveFiles(this.c.config.dataDir, req.spec.name);
        const bytes = (await readFile(files.state).catch(() => Buffer.alloc(0))).length;
        await writeFile(
          files.sidecar,
          JSON.stringify({
            name: req.spec.name,
            uuid: req.spec.uuid,
            running: req.state.running,
            savedAt: req.state.savedAt,
            bytes,
          }),
          { mode: 0o600 },
        );
        const restored = await new SaveRestore(this.c.vms, this.c.supervisor, this.c.config.dataDir).restore(
          req.spec.name,
        );
        if (restored.pid) this.c.jobs.addArtifact(req.jobId, 'qemu', String(restored.pid));
      }
      this.c.jobs.end(req.jobId, 'completed');
      await rm(this.jobDir(req.jobId), { recursive: true, force: true });
      this.c.events.publish({ type: 'job.ended', job: req.jobId, vm: job.vm, state: 'completed' });
    });
  }

  private async putInPlace(jobId: string, p: Placed) {
    if (p.device) {
      // The dump goes onto the named device; the image was only the vehicle.
      await qemuImg.convert(p.partial, p.device, {
        sourceFormat: 'raw',
        targetFormat: 'raw',
        targetExists: true,
      });
      await removePartial(p.partial);
      this.c.jobs.removeArtifact(jobId, 'volume', p.partial);
      return;
    }
    try {
      await link(p.partial, p.final); // fails if the name appeared meanwhile: never overwrite
    } catch (e) {
      throw new VmhopError(
        'VMHOP_ERR_VOLUME_EXISTS',
        `cannot put the copy at \`${p.final}\`: ${(e as Error).message}`,
        {
          path: p.final,
        },
      );
    }
    this.c.jobs.addArtifact(jobId, 'volume', p.final);
    await removePartial(p.partial);
    this.c.jobs.removeArtifact(jobId, 'volume', p.partial);
    if (p.format === 'qcow2') {
      const r = await qemuImg.check(p.final, { format: 'qcow2' });
      if (r.status === 'corrupt')
        throw new VmhopError(
          'VMHOP_ERR_MIGRATION_FAILED',
          `qemu-img check finds \`${p.final}\` corrupt after the copy`,
          {
            path: p.final,
          },
        );
    }
  }

  /** Overlays whose base landed at another path (another pool) point at it again. */
  private async rebaseOverlays(placed: Placed[]) {
    for (const p of placed) {
      if (!p.backingKey || p.kind !== 'volume' || p.device) continue;
      const base = placed.find((x) => x.key === p.backingKey);
      if (!base) continue;
      const info = await qemuImg.info(p.final, { format: 'qcow2' });
      if (info.fullBackingFilename === base.final) continue;
      await qemuImg.rebase(p.final, {
        format: 'qcow2',
        backing: { file: base.final, format: base.format },
        unsafe: true,
      });
    }
  }

  /** Cancel or failure: removes what this job made, newest first; never a volume it found. */
  async abort(jobId: string, reason: string): Promise<void> {
    return serialized(jobId, () => this.drop(jobId, reason));
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

async function removePartial(path: string) {
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await rm(chunkLogOf(path), { force: true });
  await rm(`${path}.meta`, { force: true });
}

export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const part of createReadStream(path) as AsyncIterable<Buffer>) h.update(part);
  return h.digest('hex');
}
