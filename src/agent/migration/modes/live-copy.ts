// Live migration with local storage ("block migration", QEMU's NBD + mirror way): the target
// creates the volumes and exports them over NBD; the source mirrors each copied disk into
// its export until all are READY, then sends RAM as live-shared does, ends the mirrors at the
// pre-switchover pause, and commits. Before the commit every failure cancels the mirrors,
// resumes the source and has the target delete what it made; the source disks stay intact.
import type { QmpSession } from '../../../qmp/index.js';
import { attachNbdTargets } from '../outgoing/attach-nbd-targets.js';
import { cancelMirrors } from '../outgoing/cancel-mirrors.js';
import { decideCopyMode, measureWriteRate, writtenBytes } from '../outgoing/choose-copy-mode.js';
import { completeMirrors } from '../outgoing/complete-mirrors.js';
import { mirrorJobs, type Mirrors } from '../outgoing/mirror-jobs.js';
import { copiedDisk, planDiskCopy, type DiskCopyPlan } from '../outgoing/plan-disk-copy.js';
import { cancelAndResume } from '../outgoing/rollback.js';
import { startMirrors } from '../outgoing/start-mirrors.js';
import { waitMirrorsReady } from '../outgoing/wait-mirrors-ready.js';
import {
  commitAndRetire,
  prepareTarget,
  ramFigures,
  sendRam,
  sourceQmp,
  type RamResult,
  pauseFigures,
} from './live-common.js';
import type { ModeResult, ModeRun, ModeRunner } from './types.js';

const MiB = 1024 * 1024;

export const runLiveCopy: ModeRunner = async (r: ModeRun): Promise<ModeResult> => {
  const { c, job, vm } = r;
  const t0 = Date.now();
  const plan = await planDiskCopy(c, vm.spec, job.options);
  const qmp = sourceQmp(r);
  const wasRunning = vm.state === 'running';
  const targets = plan.disks.map((d) => d.target);
  const linkBps = job.options.bandwidthMiBs ? job.options.bandwidthMiBs * MiB : undefined;
  const decision = decideCopyMode(await measureWriteRate(qmp, targets), linkBps);
  c.jobs.journal(job.id, `copy mode ${decision.mode}: ${decision.reason}`);
  const target = await prepareTarget(r, { spec: plan.spec, disks: plan.disks.map(copiedDisk) });
  const setupMs = Date.now() - t0;
  const m = mirrorJobs(qmp, job.id, targets);
  let writtenAtStart: Record<string, number> = {};
  let ram: RamResult;
  let written: Record<string, number> = {};
  const copyStart = Date.now();
  let copyMs = 0;
  try {
    writtenAtStart = await perDisk(qmp, targets);
    await attachNbdTargets(m, target, job.options.insecure ? undefined : c.tlsDir);
    await startMirrors(m, {
      sync: (t) => plan.disks.find((d) => d.target === t)?.sync ?? 'full',
      copyMode: decision.mode,
      speedBps: linkBps ?? 0,
    });
    await waitMirrorsReady(m, {
      signal: r.signal,
      options: job.options,
      onProgress: (disks) => r.onProgress({ phase: 'perform', stage: 'disks', disks }),
    });
    copyMs = Date.now() - copyStart;
    c.jobs.journal(job.id, `every copied disk is in sync after ${copyMs} ms; sending RAM`);
    ram = await sendRam(r, qmp, target, async () => {
      await completeMirrors(m);
      written = await perDisk(qmp, targets);
    });
  } catch (e) {
    await rollBack(r, qmp, m, wasRunning, e as Error);
    throw e;
  }
  m.close();
  const pauseOf = pauseFigures(await commitAndRetire(r, qmp, wasRunning), ram.pausedAt);
  const notes = [
    ...plan.notes,
    `disk copy mode ${decision.mode}: ${decision.reason}`,
    ...ram.notes,
    ...pauseOf.notes,
  ];
  if (job.options.deleteSource) notes.push(...(await deleteSources(r, plan)));
  const diskBytes = Object.fromEntries(
    plan.disks.map((d) => [
      d.target,
      d.dataBytes + Math.max(0, (written[d.target] ?? 0) - (writtenAtStart[d.target] ?? 0)),
    ]),
  );
  notes.push(
    `disks copied in ${copyMs} ms (${plan.disks.map((d) => `${d.target}: ${d.backingVolume ? 'overlay only' : 'whole disk'}`).join(', ')}); disk bytes are the data held at the start plus what the guest wrote during the copy (zero areas travel as NBD write-zeroes)`,
  );
  if (plan.shared.length)
    notes.push(`not copied (shared pool): ${plan.shared.map((d) => d.target).join(', ')}`);
  return { setupMs, ...pauseOf, ...ramFigures(ram.last), diskBytes, notes };
};

async function perDisk(qmp: QmpSession, targets: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of targets) out[t] = await writtenBytes(qmp, [t]);
  return out;
}

/** Before the commit: the source runs on its own disks again, the target deletes what it made. */
async function rollBack(r: ModeRun, qmp: QmpSession, m: Mirrors, wasRunning: boolean, e: Error) {
  const { c, job, peer } = r;
  // Mirrors first: a silent NBD target can stall QEMU's monitor until its connection is closed.
  const left = await cancelMirrors(m).catch((err: unknown) => [
    `cancelling the mirrors failed: ${(err as Error).message}`,
  ]);
  for (const note of left) c.jobs.journal(job.id, note);
  await cancelAndResume(qmp, wasRunning).catch((err: unknown) =>
    c.log.error({ err }, 'rollback on the source failed'),
  );
  await peer.abort(job.id, e.message).catch(() => undefined);
}

/** --delete-source: only now, after the target confirmed it runs the VM. */
async function deleteSources(r: ModeRun, plan: DiskCopyPlan): Promise<string[]> {
  const notes: string[] = [];
  for (const d of plan.disks) {
    try {
      await r.c.storage.deleteVolume(d.source.pool, d.source.volume);
      notes.push(`source volume ${d.source.pool}/${d.source.volume} deleted (--delete-source)`);
    } catch (err) {
      notes.push(
        `source volume ${d.source.pool}/${d.source.volume} could not be deleted: ${(err as Error).message}`,
      );
    }
  }
  return notes;
}
