// The post-copy ending of a live migration over shared storage, from the source's pre-switchover
// pause that migrate-start-postcopy led to. The commit record is written on the target while the
// source is stopped and before QEMU sends the device state: that is the moment from which the
// target can run. A refusal then resumes the source; no answer leaves it paused. After the commit
// the source QEMU is never resumed; it serves the target's page requests until QEMU says
// `completed`, and only then is it retired (in the background: the job is done when the last
// page is on the target).
import { VmhopError } from '../../../protocol/errors.js';
import { migrateContinue, type MigrationInfo, type QmpSession } from '../../../qmp/index.js';
import type { JobRow } from '../../db/job-store.js';
import type { PeerLink, PrepareReply } from '../../peers/peer-link.js';
import type { MigrationContext } from '../context.js';
import { commitOnTarget } from '../outgoing/commit.js';
import { followPostcopy } from '../outgoing/follow-postcopy.js';
import { retireInBackground } from '../outgoing/retire-source.js';
import { asJobError, type UndoList } from '../outgoing/undo-list.js';
import type { SwitchoverPause } from '../outgoing/watch-migration.js';
import { commitOrResume, pauseFigures, ramFigures } from './live-common.js';
import type { ModeResult, ModeRun } from './types.js';

export async function finishWithPostcopy(
  r: ModeRun,
  qmp: QmpSession,
  target: PrepareReply,
  pause: SwitchoverPause & { postcopy: NonNullable<SwitchoverPause['postcopy']> },
  undo: UndoList,
): Promise<Omit<ModeResult, 'setupMs'>> {
  const { c, job, peer } = r;
  c.jobs.advance(job.id, 'finish', 'post-copy: asking the target to commit before the device state moves');
  await commitOrResume(r, undo, () => peer.postcopy(job.id, 'commit', job.protocolVersion));
  try {
    await migrateContinue(qmp, { state: 'pre-switchover' });
  } catch (e) {
    throw unknownOutcome(r, 'the source QEMU did not leave its pre-switchover pause after the commit', e);
  }
  const resumed = await commitOnTarget(peer, job, c.config.commitAnswerSeconds * 1_000);
  if (!resumed.committed)
    throw unknownOutcome(r, `\`${peer.name}\` owns the VM but did not confirm it resumed it`, resumed.error);
  c.jobs.journal(job.id, 'the target runs the VM; post-copy brings the remaining pages');
  const { last, recoveries } = await followThenRetire(c, job, peer, qmp, target, (info, at) =>
    r.onSample(info, at, 'postcopy'),
  );
  const pauseOf = pauseFigures(resumed, pause.pausedAt);
  return {
    ...pauseOf,
    ...ramFigures(last),
    postcopy: { ...pause.postcopy, recoveries },
    notes: [
      ...pause.notes,
      ...pauseOf.notes,
      ...(recoveries ? [`the post-copy stream was recovered ${recoveries} time(s)`] : []),
    ],
  };
}

/** Serves the target's page requests until QEMU says `completed` (recovering stalls), then starts the source's retirement. */
export async function followThenRetire(
  c: MigrationContext,
  job: JobRow,
  peer: PeerLink,
  qmp: QmpSession,
  /** The target's migration address and port range (its prepare reply, or host info after a restart). */
  target: Pick<PrepareReply, 'address' | 'migrationPorts'>,
  onSample: (info: MigrationInfo, at: number) => void,
): Promise<{ last: MigrationInfo; recoveries: number }> {
  const followed = await followPostcopy(qmp, {
    peer,
    jobId: job.id,
    protocolVersion: job.protocolVersion,
    address: target.address,
    targetPorts: target.migrationPorts,
    stallTimeoutMs: job.options.stallTimeoutMs,
    onSample,
    journal: (text) => c.jobs.journal(job.id, text),
  });
  c.jobs.advance(job.id, 'confirm', 'every page is on the target; the source is retired in the background');
  void retireInBackground(c, job);
  return followed;
}

function unknownOutcome(r: ModeRun, what: string, cause: unknown): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN',
    `${what} (${cause instanceof Error ? cause.message : String(cause)}): the source QEMU stays paused and is kept; check \`${r.peer.name}\` and run \`vmhop job show ${r.job.id}\``,
    // What failed, with QEMU's class and text when it was a QMP command (migrate-continue).
    { job: r.job.id, cause: asJobError(cause).toJSON() },
  );
}
