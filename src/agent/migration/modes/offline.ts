// Offline (static) migration: the VM is stopped (or saved with --keep-state) on the source,
// its files move, the target verifies them, defines the VM (and restores the state), then the
// source is retired. Composes: plan, save, dump block devices, prepare on the target, copy,
// commit, retire. Before the commit the source VM is untouched (or restored on cancel);
// a broken data link ends the job `interrupted` with the partial files kept for a resume.
import { readFile, rm } from 'node:fs/promises';
import { VmhopError, isVmhopError } from '../../../protocol/errors.js';
import type { Phase } from '../../../protocol/migration.js';
import type { JobRow } from '../../db/job-store.js';
import type { OfflineItem } from '../../peers/offline-messages.js';
import { saveFiles, SaveRestore } from '../../vm/save-restore.js';
import type { MigrationContext } from '../context.js';
import { copyItems } from '../outgoing/copy-items.js';
import { dumpBlockDevices } from '../outgoing/dump-block-device.js';
import { fileData, fileFingerprint, planOffline, type PlannedItem } from '../outgoing/plan-offline.js';
import { retireSource } from '../outgoing/retire-source.js';
import type { ModeResult, ModeRun, ModeRunner } from './types.js';
import { resolvedMachine } from '../preflight-qemu.js';
import { assertManifestsFit } from '../outgoing/manifest-size.js';

const MIB = 1024 * 1024;

export const stagingDirOf = (c: MigrationContext, jobId: string) => `${c.config.dataDir}/offline/${jobId}`;

function forward(c: MigrationContext, job: JobRow, phase: Phase, note: string) {
  const order = ['begin', 'prepare', 'perform', 'finish', 'confirm'];
  if (order.indexOf(phase) > order.indexOf(c.jobs.get(job.id).phase)) c.jobs.advance(job.id, phase, note);
  else c.jobs.journal(job.id, note);
}

export const runOffline: ModeRunner = async (r: ModeRun): Promise<ModeResult> => {
  const { c, job, peer } = r;
  const staging = stagingDirOf(c, job.id);
  const saver = new SaveRestore(c.vms, c.supervisor, c.config.dataDir);
  const vm = c.vms.get(job.vm);
  const t0 = Date.now();
  if ((vm.state === 'running' || vm.state === 'paused') && !job.options.keepState) {
    throw new VmhopError(
      'VMHOP_ERR_VM_STATE',
      `VM \`${vm.name}\` is ${vm.state}: pass --keep-state to save it and restore it on the target, or stop it first with \`vmhop shutdown ${vm.name}\``,
      { vm: vm.name },
    );
  }
  let saved = false;
  // Restored state needs the machine type it was saved with, not what an alias means on the target.
  const machine = job.options.keepState ? await resolvedMachine(c, vm) : vm.spec.machine;
  try {
    if (vm.state === 'running' || vm.state === 'paused') {
      c.jobs.journal(job.id, `saving the RAM and device state of \`${vm.name}\``);
      await saver.save(vm.name);
    }
    saved = job.options.keepState && saver.hasSavedState(vm.name);
    // Planned once the guest is stopped: a running guest still grows its qcow2 files.
    const to = { link: peer, info: await peer.hostInfo(), protocolVersion: job.protocolVersion };
    const plan = await planOffline(c, vm, to, job.options, staging);
    const state = saved ? await stateItem(c, vm.name, plan.items) : undefined;
    await dumpBlockDevices(plan.items, staging, r.signal);
    await assertManifestsFit(plan.items.map((p) => ({ key: p.item.key, path: p.path })));
    forward(
      c,
      job,
      'prepare',
      `asking \`${peer.name}\` for ${plan.items.length} file(s), ${(plan.bytes / MIB).toFixed(1)} MiB of data`,
    );
    const prep = await peer.offlinePrepare({
      protocolVersion: job.protocolVersion,
      jobId: job.id,
      source: c.config.name,
      vm: vm.name,
      volumeCopy: false,
      items: plan.items.map((p) => p.item),
      options: job.options,
    });
    // Set-up: save, plan, dumps and the target's prepare; the copy and the commit come after.
    const setupMs = Date.now() - t0;
    forward(c, job, 'perform', `copying to ${prep.address}:${prep.port} (mutual TLS)`);
    const copied = await copyItems(plan.items, prep, {
      tls: c.config.tls,
      stagingDir: staging,
      signal: r.signal,
      onProgress: r.onProgress,
    });
    forward(c, job, 'finish', 'every file sent; asking the target to verify and define the VM');
    await peer.offlineCommit({
      protocolVersion: job.protocolVersion,
      jobId: job.id,
      spec: { ...plan.spec, machine },
      manifests: copied.manifests,
      ...(state ? { state } : {}),
    });
    forward(c, job, 'confirm', 'the target verified its copy and owns the VM; retiring the source');
    await retireSource(c, vm.name, peer.name, job.options.keepSource);
    if (saved) await removeSaved(c, vm.name);
    const notes = [...plan.disks.map((d) => d.detail), ...figureNotes(copied.figures, prep.items)];
    if (job.options.deleteSource) notes.push(...(await deleteSourceVolumes(c, plan.items, vm.name)));
    await rm(staging, { recursive: true, force: true });
    return {
      setupMs,
      diskBytes: Object.fromEntries(Object.entries(copied.figures).map(([k, f]) => [k, f.totalWireBytes])),
      notes,
    };
  } catch (e) {
    if (isVmhopError(e) && e.code === 'VMHOP_ERR_MIGRATION_INTERRUPTED' && !r.signal.aborted) {
      // The target may be what cut the copy off; it keeps its partial files either way (its own
      // expiry drops them), so a pause it did not hear is journaled, not a second failure.
      await peer
        .offlinePause(job.id, e.message, job.protocolVersion)
        .catch((err: unknown) =>
          c.jobs.journal(
            job.id,
            `telling \`${peer.name}\` to keep its partial copy failed: ${(err as Error).message}`,
          ),
        );
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_INTERRUPTED',
        `${e.message}; the partial copy is kept: \`vmhop job resume ${job.id}\` (or migrate again) continues it, \`vmhop job abort ${job.id}\` drops it`,
        { job: job.id },
        e,
      );
    }
    await undoOffline(c, job, saved, (e as Error).message);
    if (r.signal.aborted)
      throw new VmhopError('VMHOP_ERR_MIGRATION_CANCELLED', `cancelled: ${String(r.signal.reason)}`, {
        job: job.id,
      });
    throw e;
  }
};

/** Cancel or failure before the commit: the target drops what the job made, the source VM runs as before. */
export async function undoOffline(
  c: MigrationContext,
  job: JobRow,
  saved: boolean,
  reason: string,
): Promise<void> {
  await c
    .peer(job.peer)
    .abort(job.id, reason, job.protocolVersion)
    .catch((err: unknown) => c.log.error({ err }, 'offline abort on the target failed'));
  if (saved) {
    await new SaveRestore(c.vms, c.supervisor, c.config.dataDir)
      .restore(job.vm)
      .catch((err: unknown) => c.log.error({ err }, 'restoring the saved VM on the source failed'));
  }
  await rm(stagingDirOf(c, job.id), { recursive: true, force: true });
}

async function stateItem(c: MigrationContext, vm: string, items: PlannedItem[]) {
  const files = saveFiles(c.config.dataDir, vm);
  const sidecar = JSON.parse(await readFile(files.sidecar, 'utf8')) as { running: boolean; savedAt: string };
  const fp = await fileFingerprint(files.state);
  const dataBytes = await fileData(files.state);
  const item: OfflineItem = { key: 'state', kind: 'state', format: 'raw', ...fp, dataBytes };
  items.push({ item, path: files.state, virtualSizeBytes: fp.sizeBytes });
  return { running: sidecar.running, savedAt: sidecar.savedAt };
}

async function removeSaved(c: MigrationContext, vm: string) {
  const files = saveFiles(c.config.dataDir, vm);
  await rm(files.state, { force: true });
  await rm(files.sidecar, { force: true });
}

export function figureNotes(
  figures: Awaited<ReturnType<typeof copyItems>>['figures'],
  items: { key: string; status: string }[],
) {
  const notes = items
    .filter((i) => i.status === 'present')
    .map((i) => `${i.key}: an identical copy is on the target already; not sent`);
  for (const [key, f] of Object.entries(figures)) {
    notes.push(
      `${key}: ${(f.totalWireBytes / MIB).toFixed(1)} MiB on the wire in all attempts (${(f.wireBytes / MIB).toFixed(1)} MiB in this one, ${(f.skippedBytes / MIB).toFixed(1)} MiB already there) for ${(f.dataBytes / MIB).toFixed(1)} MiB of data; verified by SHA-256 per chunk`,
    );
  }
  return notes;
}

/** --delete-source: only the top volumes the VM used, after the target verified its copy. */
async function deleteSourceVolumes(c: MigrationContext, items: PlannedItem[], vm: string): Promise<string[]> {
  const notes: string[] = [];
  const bases = new Set(items.map((p) => p.item.backingKey).filter(Boolean));
  for (const p of items) {
    if (p.item.kind !== 'volume' || p.dumpFrom || bases.has(p.item.key)) continue;
    const [pool, name] = p.item.key.split('/') as [string, string];
    try {
      await c.storage.deleteVolume(pool, name);
      notes.push(`deleted the source volume ${p.item.key} (--delete-source)`);
    } catch (e) {
      notes.push(`could not delete the source volume ${p.item.key} of \`${vm}\`: ${(e as Error).message}`);
    }
  }
  return notes;
}
