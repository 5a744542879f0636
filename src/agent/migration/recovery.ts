// After an agent restart, every job the registry still calls running is finished or rolled
// back from what the journal says (rule 2, "journal first"). Source before the commit:
// cancel and resume the source. Source at finish: ask the target; if it cannot say, the
// job needs an operator and the source stays paused. Target before the commit: clean up.
// Source after the commit: a retirement the restart cut off is finished (finishRetirements).
import { cont, migrateContinue, queryMigrate, queryStatus, type QmpSession } from '../../qmp/index.js';
import type { JobRow } from '../db/job-store.js';
import type { MigrationContext } from './context.js';
import type { TargetSide } from './incoming/target-side.js';
import { followThenRetire } from './modes/live-postcopy.js';
import { cancelLeftoverMirrors } from './outgoing/cancel-mirrors.js';
import { finishRetirements, retireSource } from './outgoing/retire-source.js';
import { cancelAndResume } from './outgoing/rollback.js';
import { asJobError, describeError, UndoList } from './outgoing/undo-list.js';

export async function recoverJobs(c: MigrationContext, target: TargetSide): Promise<void> {
  for (const job of c.jobs.running()) {
    try {
      if (job.role === 'target') await recoverTarget(c, target, job);
      else await recoverSource(c, job);
    } catch (e) {
      c.log.error({ job: job.id, err: e }, 'recovery failed');
      c.jobs.journal(job.id, `recovery failed: ${describeError(asJobError(e))}`);
    }
  }
  await finishRetirements(c);
}

/** Asks the target to drop or pause its side; a target that cannot be asked now is journaled (its own watchdog ends its side). */
async function tellTarget(c: MigrationContext, job: JobRow, ask: () => Promise<unknown>, what: string) {
  await ask().catch((e: unknown) =>
    c.jobs.journal(job.id, `asking \`${job.peer}\` to ${what} failed: ${describeError(asJobError(e))}`),
  );
}

async function recoverTarget(c: MigrationContext, target: TargetSide, job: JobRow): Promise<void> {
  if (job.mode === 'offline' && job.phase !== 'finish') {
    // The partial files survive a restart: keep them for the source to resume.
    await target.offline.pause(job.id, 'the target agent restarted');
    return;
  }
  if (job.phase !== 'finish') {
    await target.abort(job.id, 'the target agent restarted before the commit');
    return;
  }
  // Committed: the VM is ours.
  const qmp = c.supervisor.qmpOf(job.vm);
  // No answer is an answer here: a monitor blocked on a missing page (see below) means post-copy.
  const mig = qmp ? await queryMigrate(qmp, { timeoutMs: 2_000 }).catch(() => undefined) : undefined;
  // A monitor that does not answer may be blocked by a vCPU waiting for a page: post-copy too.
  const inPostcopy = mig ? !!mig.status?.startsWith('postcopy') : job.options.postcopy;
  if (qmp && inPostcopy) {
    // Pages are still missing: the job goes on, the source recovers the stream (the restart cut
    // it) and the job ends with the last page, not now.
    c.jobs.journal(
      job.id,
      `the target agent restarted during post-copy (${mig?.status ?? 'monitor busy'}); following it again`,
    );
    target.followPostcopy(job.id);
    return;
  }
  // Without a monitor, or with an incoming stream that failed, nobody can say that every page
  // arrived: never "completed" on a guess, which would let the source retire the only copy of
  // the pages still missing here.
  const failed = mig?.status === 'failed' || mig?.status === 'cancelled' ? mig.status : undefined;
  if (job.options.postcopy && (!qmp || failed)) {
    const why = qmp
      ? `\`${job.vm}\`'s incoming migration ${failed}`
      : `cannot reach \`${job.vm}\`'s QEMU monitor`;
    c.jobs.journal(
      job.id,
      `the target agent restarted and ${why}: whether every post-copy page arrived is unknown; the source keeps its QEMU`,
    );
    c.jobs.end(job.id, 'needs-operator');
    return;
  }
  // Make sure it runs (unless it was paused on the source).
  if (qmp && job.guestWasRunning && !(await queryStatus(qmp)).running) await cont(qmp);
  c.jobs.end(job.id, 'completed');
}

async function recoverSource(c: MigrationContext, job: JobRow): Promise<void> {
  const qmp = c.supervisor.qmpOf(job.vm);
  const fail = (why: string) => c.jobs.end(job.id, 'failed', report(job, 'failed', why));
  if (job.mode === 'offline' && job.phase !== 'finish' && job.phase !== 'confirm') {
    // An offline copy is resumable: the source VM is stopped (or saved), the target keeps its partial files.
    await tellTarget(
      c,
      job,
      () => c.peer(job.peer).offlinePause(job.id, 'the source agent restarted', job.protocolVersion),
      'pause',
    );
    c.jobs.end(
      job.id,
      'interrupted',
      report(job, 'interrupted', `the source agent restarted; resume with \`vmhop job resume ${job.id}\``),
    );
    return;
  }
  if (job.phase === 'begin' || job.phase === 'prepare' || job.phase === 'perform') {
    // What the lost process had registered, rebuilt from the job (newest first, every undo runs):
    // the mirrors QEMU kept across the restart end before the RAM cancel, as in a rollback.
    const undo = new UndoList((entry) => c.jobs.journal(job.id, entry));
    undo.add(`the target \`${job.peer}\` prepared its side (abort there)`, (cause) =>
      c.peer(job.peer).abort(job.id, cause.message, job.protocolVersion),
    );
    if (qmp) {
      undo.add('RAM stream (migrate_cancel) and the paused guest (cont)', () =>
        cancelAndResume(qmp, job.guestWasRunning),
      );
      const targets = c.vmStore.get(job.vm)?.spec.disks.map((d) => d.target) ?? [];
      if (job.mode === 'live-copy')
        undo.add('disk mirrors and NBD client nodes (block-job-cancel, blockdev-del, object-del)', () =>
          cancelLeftoverMirrors(qmp, job.id, targets),
        );
    }
    await undo.run(new Error('the source agent restarted'));
    fail('the source agent restarted during the migration; the VM runs on the source');
    return;
  }
  const mig = qmp ? (await queryMigrate(qmp)).status : undefined;
  if (mig?.startsWith('postcopy') && (job.phase === 'finish' || job.phase === 'confirm')) {
    // The target runs the guest and pulls its missing pages from this QEMU: keep serving them.
    void continuePostcopy(c, job, qmp as QmpSession);
    return;
  }
  if (job.phase === 'confirm') {
    await retireSource(c, job.vm, job.peer, job.options.keepSource);
    c.jobs.end(job.id, 'completed', report(job, 'completed', 'finished after an agent restart'));
    return;
  }
  // phase finish: only the target knows whether it committed.
  let remote;
  try {
    remote = await c.peer(job.peer).job(job.id);
  } catch (e) {
    c.jobs.end(
      job.id,
      'needs-operator',
      report(
        job,
        'needs-operator',
        `cannot ask \`${job.peer}\` whether it committed: ${(e as Error).message}; the source stays paused`,
      ),
    );
    return;
  }
  if (remote.phase === 'finish' && mig === 'pre-switchover' && qmp) {
    // Committed for post-copy while the source still waited at its pause: let QEMU go on.
    await migrateContinue(qmp, { state: 'pre-switchover' });
    void continuePostcopy(c, job, qmp);
  } else if (remote.phase === 'finish') {
    c.jobs.advance(job.id, 'confirm', 'the target committed (learnt after a restart)');
    await retireSource(c, job.vm, job.peer, job.options.keepSource);
    c.jobs.end(job.id, 'completed', report(job, 'completed', 'finished after an agent restart'));
  } else if (remote.state !== 'running') {
    if (qmp) await cancelAndResume(qmp, job.guestWasRunning);
    fail(`the target did not commit (${remote.state}); the VM runs on the source`);
  } else {
    c.jobs.end(
      job.id,
      'needs-operator',
      report(job, 'needs-operator', 'the target has not committed yet; the source stays paused'),
    );
  }
}

/** A post-copy the previous agent process left running: make sure the target runs, follow it, retire. */
async function continuePostcopy(c: MigrationContext, job: JobRow, qmp: QmpSession): Promise<void> {
  const peer = c.peer(job.peer);
  c.jobs.journal(job.id, 'post-copy was running when the agent restarted: following it again');
  try {
    await peer.finish(job.id, job.protocolVersion);
    // The prepare reply is gone with the previous process; host info names the same range.
    const { migrationAddress, migrationPorts } = await peer.hostInfo();
    await followThenRetire(c, job, peer, qmp, { address: migrationAddress, migrationPorts }, () => undefined);
    c.jobs.end(job.id, 'completed', report(job, 'completed', 'post-copy finished after an agent restart'));
  } catch (e) {
    c.jobs.end(job.id, 'needs-operator', report(job, 'needs-operator', (e as Error).message));
  }
  c.events.publish({ type: 'job.ended', job: job.id, vm: job.vm, state: c.jobs.get(job.id).state });
}

function report(
  job: JobRow,
  result: 'completed' | 'failed' | 'needs-operator' | 'interrupted',
  note: string,
) {
  return {
    result,
    totalMs: Date.now() - Date.parse(job.createdAt),
    encrypted: !job.options.insecure,
    options: job.options,
    notes: [note],
    ...(result === 'completed'
      ? {}
      : {
          error: {
            code: result === 'failed' ? 'VMHOP_ERR_MIGRATION_FAILED' : 'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN',
            message: note,
          },
        }),
  };
}
