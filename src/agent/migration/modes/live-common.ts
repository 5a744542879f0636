// The parts every live mode shares, composed from outgoing/ steps: ask the target to prepare,
// send RAM until QEMU stops the guest at the pre-switchover pause (where a mode may finish its
// own work, e.g. end the disk mirrors), switch over, then the commit and the source's retirement
// (in the background: the job ends when the target runs the guest). Each step registers its undo
// on the mode's undo list before it acts; before the commit a failure runs that list.
import { isIP } from 'node:net';
import { isVmhopError, VmhopError } from '../../../protocol/errors.js';
import { timestampMs, type MigrationInfo, type QmpSession } from '../../../qmp/index.js';
import type { PrepareReply, PrepareRequest } from '../../peers/peer-link.js';
import { commitOnTarget, type CommitOutcome } from '../outgoing/commit.js';
import { markMoved, retireInBackground } from '../outgoing/retire-source.js';
import { startMigration } from '../outgoing/start-migration.js';
import { asJobError, UndoList } from '../outgoing/undo-list.js';
import { confirmTargetReady } from '../outgoing/target-ready.js';
import { completeSwitchover } from '../outgoing/switchover.js';
import { watchUntilSwitchover, type SwitchoverPause } from '../outgoing/watch-migration.js';
import { resolvedMachine } from '../preflight-qemu.js';
import type { ModeRun } from './types.js';

/** The job's undo list, journaling into the job. */
export function sourceUndo(r: ModeRun): UndoList {
  return new UndoList((entry) => r.c.jobs.journal(r.job.id, entry));
}

export async function prepareTarget(
  r: ModeRun,
  undo: UndoList,
  extra: Pick<PrepareRequest, 'spec'> & Partial<Pick<PrepareRequest, 'disks'>> = { spec: r.vm.spec },
): Promise<PrepareReply> {
  const { c, job, peer } = r;
  // The target runs what the source runs: `pc` is pc-i440fx-7.2 on 7.2 but pc-i440fx-10.0 on 10.
  const machine = await resolvedMachine(c, r.vm);
  c.jobs.advance(job.id, 'prepare', `asking \`${peer.name}\` to prepare (machine ${machine})`);
  // Before the request: a prepare whose answer was lost still made something there. The target's
  // abort removes exactly what its ledger holds for the job (nothing, for a job it never saw).
  undo.add(`the target \`${peer.name}\` prepared its side (abort there)`, (cause) =>
    peer.abort(job.id, cause.message, job.protocolVersion),
  );
  const target = await peer.prepare({
    protocolVersion: job.protocolVersion,
    jobId: job.id,
    mode: job.mode,
    source: c.config.name,
    settings: r.settings.target,
    tls: !job.options.insecure,
    options: job.options,
    guestRunning: job.guestWasRunning,
    sourceAddresses: isIP(c.migrationAddress) ? [c.migrationAddress] : [],
    // The target refuses a commit later than this after its copy completed: by then this source
    // has stopped waiting and may run the VM again (F14).
    commitWindowMs: c.config.commitAnswerSeconds * 1_000,
    ...extra,
    spec: { ...extra.spec, machine },
  });
  c.jobs.advance(job.id, 'perform', `target listens on ${target.address}:${target.port}`);
  return target;
}

export function sourceQmp(r: ModeRun): QmpSession {
  const qmp = r.c.supervisor.qmpOf(r.vm.name);
  if (!qmp)
    throw new VmhopError('VMHOP_ERR_VM_STATE', `VM \`${r.vm.name}\` has no running QEMU here`, {
      vm: r.vm.name,
    });
  return qmp;
}

export interface RamResult {
  pausedAt: number;
  notes: string[];
  last: MigrationInfo | undefined;
}

export interface RamSteps {
  undo: UndoList;
  /** The guest ran when the job began: a rollback resumes it. */
  wasRunning: boolean;
  /** Runs before migrate_cancel on a rollback (live-copy ends its mirrors first). */
  beforeCancel?: (cause: Error) => Promise<unknown>;
}

/** RAM passes, the pre-switchover pause (`atPause` runs while the guest is stopped), the switchover. */
export async function sendRam(
  r: ModeRun,
  qmp: QmpSession,
  target: PrepareReply,
  steps: RamSteps,
  atPause: () => Promise<void> = async () => undefined,
): Promise<RamResult> {
  const pause = await runUntilPause(r, qmp, target, steps);
  await atPause();
  return switchOver(r, qmp, pause);
}

/**
 * Starts the RAM copy and follows it until QEMU stops the guest at the pre-switchover pause,
 * then has the target's agent confirm it is ready before anything is asked to commit.
 */
export async function runUntilPause(
  r: ModeRun,
  qmp: QmpSession,
  target: PrepareReply,
  steps: RamSteps,
): Promise<SwitchoverPause & { last: MigrationInfo | undefined }> {
  let last: MigrationInfo | undefined;
  // The pause starts when QEMU stops the guest (its STOP event, stamped on this host's clock),
  // not when the next poll notices it.
  const stopWatch = new AbortController();
  let stoppedAt: number | undefined;
  qmp
    .waitEvent('STOP', undefined, { timeoutMs: Infinity, signal: stopWatch.signal })
    .then((e) => (stoppedAt = timestampMs(e.timestamp)))
    // Ends with stopWatch.abort() (or the QEMU going away): the poll's own pause time is used then.
    .catch(() => undefined);
  try {
    await startMigration(
      qmp,
      r.settings.source,
      target,
      r.job.options.insecure ? undefined : r.c.tlsDir,
      steps,
    );
    const pause = await watchUntilSwitchover(qmp, {
      signal: r.signal,
      options: r.job.options,
      postcopyRequested: r.postcopyRequested,
      ...(r.prediction ? { prediction: r.prediction } : {}),
      onPolicy: (text) => {
        r.c.jobs.journal(r.job.id, text);
        r.onProgress({ etaReason: text });
      },
      onSample: (info, at) => {
        last = info;
        r.onSample(info, at, 'ram');
      },
    });
    await new Promise((resolve) => setImmediate(resolve));
    const pausedAt = stoppedAt !== undefined && stoppedAt <= pause.pausedAt ? stoppedAt : pause.pausedAt;
    r.c.jobs.journal(r.job.id, 'source paused at pre-switchover');
    await confirmTargetReady(r.peer, r.job.id);
    return { ...pause, pausedAt, last };
  } finally {
    stopWatch.abort();
  }
}

/** Pre-copy's switchover: QEMU sends the last pages and the device state while the guest stays stopped. */
export async function switchOver(r: ModeRun, qmp: QmpSession, pause: SwitchoverPause): Promise<RamResult> {
  const last = await completeSwitchover(qmp);
  r.onSample(last, Date.now(), 'switchover');
  return { pausedAt: pause.pausedAt, notes: pause.notes, last };
}

/** What the source knows of the commit: when the answer came and, if the target said, when it resumed. */
export type Committed = Pick<Extract<CommitOutcome, { committed: true }>, 'at' | 'resumedAt' | 'resumeError'>;

/**
 * The pause as the guest saw it: from the source's stop to the target's resume. When the target's
 * timing was lost (its first answer never came back) it runs until the source learnt of the
 * commit, which the notes say; a target that could not resume is named too.
 */
export function pauseFigures(c: Committed, pausedAt: number) {
  const notes: string[] = [];
  if (c.resumedAt === undefined && !c.resumeError)
    notes.push(
      'downtime counted until the source learnt of the commit (the target did not say when it resumed the guest): an upper bound',
    );
  if (c.resumeError) notes.push(`the target owns the VM but did not resume it: ${c.resumeError}`);
  const resumedAt = c.resumedAt ?? c.at;
  return { downtimeMs: Math.max(0, resumedAt - pausedAt), pausedAt, resumedAt, notes };
}

/**
 * The commit on the target, then the source's retirement in the background (the job is done when
 * the target runs the guest); resolves with what is known of the commit and the retirement's end.
 */
export async function commitAndRetire(
  r: ModeRun,
  undo: UndoList,
): Promise<Committed & { retired: Promise<boolean> }> {
  const { c, job } = r;
  c.jobs.advance(job.id, 'finish', 'RAM and device state sent; asking the target to commit');
  const at = await commitOrResume(r, undo);
  c.jobs.advance(job.id, 'confirm', 'the target runs the VM; the source is retired in the background');
  return { ...at, retired: retireInBackground(c, job) };
}

/**
 * Before the commit: every undo runs (newest first); the job's error stays `e`, what could not be
 * undone is in the journal and, for a VmhopError, in its details (`rollbackFailures`).
 */
export async function rollBack(undo: UndoList, e: unknown): Promise<void> {
  const cause = e instanceof Error ? e : new Error(String(e));
  const failures = await undo.run(cause);
  if (failures.length && isVmhopError(e))
    Object.assign(e.details, {
      rollbackFailures: failures.map((f) => ({ step: f.step, ...f.error.toJSON() })),
    });
}

/**
 * Asks the target to commit (`ask`; by default finish: the record, then resume) while the source
 * is stopped at its pause. A refusal is known: the guest is only here, so the target drops what it
 * made and the source runs again. No answer is not: the source stays paused for an operator.
 * Resolves with the moment of the commit.
 */
export async function commitOrResume(
  r: ModeRun,
  undo: UndoList,
  ask: () => Promise<unknown> = () => r.peer.finish(r.job.id, r.job.protocolVersion),
): Promise<Committed> {
  const { job, vm, peer } = r;
  const outcome = await commitOnTarget(peer, job, r.c.config.commitAnswerSeconds * 1_000, ask);
  if (outcome.committed) {
    markMoved(r.c, vm.name, peer.name);
    undo.forget(`\`${peer.name}\` committed: the source never runs the guest again`);
    return outcome;
  }
  if (outcome.known) {
    const refused = new VmhopError(
      'VMHOP_ERR_MIGRATION_FAILED',
      `the target did not take over: ${outcome.error.message}; the VM runs on the source`,
      // The target's own error (a QMP refusal there arrives as VMHOP_ERR_QMP with its details).
      { target: asJobError(outcome.error).toJSON() },
      outcome.error,
    );
    await rollBack(undo, refused);
    throw refused;
  }
  undo.forget('nobody knows whether the target committed: the source stays paused');
  throw new VmhopError(
    'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN',
    `no answer from \`${peer.name}\` on whether it took over \`${vm.name}\`: the source stays paused and keeps asking \`${peer.name}\`, then follows its answer; to decide sooner, \`vmhop job resolve ${job.id} --source-runs\` or \`--target-runs\``,
    { job: job.id, cause: outcome.error.message },
  );
}

/** The RAM figures of the report from the last query-migrate sample. */
export function ramFigures(last: MigrationInfo | undefined) {
  return {
    ...(last?.ram?.['postcopy-requests'] ? { postcopyPageRequests: last.ram['postcopy-requests'] } : {}),
    ...(last?.downtime !== undefined ? { qemuDowntimeMs: last.downtime } : {}),
    ramBytes: last?.ram?.transferred ?? 0,
    passes: last?.ram?.['dirty-sync-count'] ?? 0,
    ...(last?.ram ? { ramNonZeroBytes: last.ram.total - last.ram.duplicate * last.ram['page-size'] } : {}),
  };
}
