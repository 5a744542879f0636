// Live migration with local storage ("block migration", QEMU's NBD + mirror way): the target
// creates the volumes and exports them over NBD; the source mirrors each copied disk into
// its export until all are READY, then sends RAM as live-shared does, ends the mirrors at the
// pre-switchover pause, and commits. Before the commit every failure runs the undo list: the
// mirrors end first (with the RAM cancel, before QEMU is asked anything that waits on disk I/O:
// a silent NBD target would stall it), then migrate_cancel, the guest resumes, the target
// deletes what it made; the source disks stay intact.
import type { QmpSession } from '../../../qmp/index.js';
import { attachNbdTargets } from '../outgoing/attach-nbd-targets.js';
import { decideCopyMode, measureWriteRate, writtenBytes } from '../outgoing/choose-copy-mode.js';
import { completeMirrors } from '../outgoing/complete-mirrors.js';
import { mirrorJobs } from '../outgoing/mirror-jobs.js';
import { copiedDisk, planDiskCopy, type DiskCopyPlan } from '../outgoing/plan-disk-copy.js';
import { startMirrors } from '../outgoing/start-mirrors.js';
import type { UndoEntry } from '../outgoing/undo-list.js';
import { waitMirrorsReady } from '../outgoing/wait-mirrors-ready.js';
import {
  commitAndRetire,
  prepareTarget,
  ramFigures,
  rollBack,
  sendRam,
  sourceQmp,
  sourceUndo,
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
  let decision: ReturnType<typeof decideCopyMode> = { mode: 'background', reason: '' };
  const undo = sourceUndo(r);
  const m = mirrorJobs(qmp, job.id, targets);
  let mirrors: UndoEntry | undefined;
  let setupMs = 0;
  let writtenAtStart: Record<string, number> = {};
  let ram: RamResult;
  let written: Record<string, number> = {};
  let copyMs = 0;
  const policyNotes: string[] = [];
  try {
    // The guest's write rate (1 s) is measured while the target prepares: the mode is needed
    // only when the mirrors start. Both are awaited before either's failure is thrown, so the
    // undo list holds the target's prepare before it runs.
    const [rate, prepared] = await Promise.allSettled([
      measureWriteRate(qmp, targets),
      prepareTarget(r, undo, { spec: plan.spec, disks: plan.disks.map(copiedDisk) }),
    ]);
    if (prepared.status === 'rejected') throw prepared.reason;
    if (rate.status === 'rejected') throw rate.reason;
    const target = prepared.value;
    decision = decideCopyMode(rate.value, linkBps);
    c.jobs.journal(job.id, `copy mode ${decision.mode}: ${decision.reason}`);
    setupMs = Date.now() - t0;
    const copyStart = Date.now();
    writtenAtStart = await perDisk(qmp, targets);
    mirrors = await attachNbdTargets(m, target, job.options.insecure ? undefined : c.tlsDir, undo);
    await startMirrors(m, {
      sync: (t) => plan.disks.find((d) => d.target === t)?.sync ?? 'full',
      copyMode: decision.mode,
      speedBps: linkBps ?? 0,
    });
    await waitMirrorsReady(m, {
      signal: r.signal,
      options: job.options,
      copyMode: decision.mode,
      onPolicy: (text) => {
        c.jobs.journal(job.id, text);
        policyNotes.push(text);
        r.onProgress({ etaReason: text });
      },
      onProgress: (disks) => r.onProgress({ phase: 'perform', stage: 'disks', disks }),
    });
    copyMs = Date.now() - copyStart;
    c.jobs.journal(job.id, `every copied disk is in sync after ${copyMs} ms; sending RAM`);
    const steps = {
      undo,
      wasRunning,
      beforeCancel: (cause: Error) => mirrors?.runNow(cause) ?? Promise.resolve(),
    };
    ram = await sendRam(r, qmp, target, steps, async () => {
      const done = await completeMirrors(m);
      for (const note of done.notes) c.jobs.journal(job.id, note);
      // The mirrors ended without a pivot and their nodes are closed: nothing of them is left to undo.
      mirrors?.drop();
      written = await perDisk(qmp, targets);
    });
  } catch (e) {
    await rollBack(undo, e);
    m.close();
    throw e;
  }
  m.close();
  const committed = await commitAndRetire(r, undo);
  const pauseOf = pauseFigures(committed, ram.pausedAt);
  const notes = [
    ...plan.notes,
    `disk copy mode ${decision.mode}: ${decision.reason}`,
    ...policyNotes,
    ...ram.notes,
    ...pauseOf.notes,
  ];
  if (job.options.deleteSource) notes.push(...(await deleteSources(r, plan, committed.retired)));
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

/**
 * --delete-source: only after the target confirmed it runs the VM, and after the source QEMU that
 * held the volumes open is gone (so this job waits for the retirement the others leave behind).
 */
async function deleteSources(r: ModeRun, plan: DiskCopyPlan, retired: Promise<boolean>): Promise<string[]> {
  if (!(await retired))
    return [
      `source volumes kept (--delete-source): the source was not retired, so its QEMU may still hold ${plan.disks.map((d) => `${d.source.pool}/${d.source.volume}`).join(', ')}`,
    ];
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
