// Source, after the commit: end the source QEMU (its guest now runs on the target) and either
// forget the definition or keep it marked as moved, so it cannot start here while the target
// owns the VM (only an explicit --force does). The mark comes first and at once (markMoved);
// the rest runs off the job's critical path (retireInBackground), journaled, its failure noted
// in the job's report, and finished by recovery (finishRetirements) if the agent stopped.
import { quit } from '../../../qmp/index.js';
import type { JobRow } from '../../db/job-store.js';
import { pollUntil } from '../../poll-until.js';
import { killAndWait } from '../../process/signals.js';
import type { MigrationContext } from '../context.js';
import { asJobError, describeError } from './undo-list.js';

const MOVED = 'moved:';
/** Journal lines recovery reads: a start with neither end after it is a retirement cut off. */
const RETIRING = 'retiring the source (quit QEMU, undefine unless --keep-source) after the commit';
const RETIRED = 'source retired';
const RETIRE_FAILED = 'retiring the source failed';

/** From the commit on, neither start nor resume runs the guest here (owner is no longer `local`). */
export function markMoved(c: MigrationContext, vm: string, peer: string): void {
  c.vmStore.update(vm, { owner: `${MOVED}${peer}` });
}

export async function retireSource(
  c: MigrationContext,
  vm: string,
  peer: string,
  keepSource: boolean,
): Promise<void> {
  markMoved(c, vm, peer);
  const row = c.vmStore.get(vm);
  const qmp = c.supervisor.qmpOf(vm);
  c.supervisor.expectExit(vm);
  // QEMU exits before it answers `quit` (the reply is often lost with the socket), and a quit
  // that failed otherwise is followed by the kill below, which is awaited: nothing is hidden.
  if (qmp) await quit(qmp).catch(() => undefined);
  if (row?.pid) await killAndWait(row.pid, 10_000);
  await c.vms.settle(vm);
  if (keepSource) {
    c.vmStore.update(vm, { owner: `${MOVED}${peer}`, state: 'moved', pid: null });
    c.events.publish({ type: 'vm.state', vm, state: 'moved', reason: `moved to ${peer}` });
  } else {
    c.vmStore.delete(vm);
    c.events.publish({ type: 'vm.undefined', vm });
  }
}

/** Retirements under way, per agent, so that closing the agent can wait for them. */
const inFlight = new WeakMap<MigrationContext, Set<Promise<void>>>();

/**
 * The job completes without waiting for this: the source QEMU is paused and marked moved, so
 * nothing here can run the guest again. A failure goes into the journal and the job's report.
 * Resolves with whether the source was retired (never rejects), for what must follow it.
 */
export function retireInBackground(c: MigrationContext, job: JobRow): Promise<boolean> {
  markMoved(c, job.vm, job.peer);
  c.jobs.journal(job.id, RETIRING);
  const run = retireSource(c, job.vm, job.peer, job.options.keepSource).then(
    () => {
      c.jobs.journal(job.id, `${RETIRED}${job.options.keepSource ? ' (kept, marked moved)' : ''}`);
      return true;
    },
    async (e: unknown) => {
      await noteRetirementFailure(c, job, e);
      return false;
    },
  );
  const set = inFlight.get(c) ?? new Set();
  inFlight.set(c, set);
  const tracked = run.then(() => undefined);
  set.add(tracked);
  void tracked.finally(() => set.delete(tracked));
  return run;
}

async function noteRetirementFailure(c: MigrationContext, job: JobRow, e: unknown): Promise<void> {
  const err = asJobError(e);
  const note = `${RETIRE_FAILED}: ${err.message}; the target runs the VM. On this host the VM is marked moved (it cannot start or resume here); \`vmhop destroy ${job.vm}\` and \`vmhop undefine ${job.vm}\` finish the retirement`;
  c.jobs.journal(job.id, `${RETIRE_FAILED}: ${describeError(err)}`);
  c.log.error({ job: job.id, err: e }, 'retiring the source failed');
  // The engine writes the report when the mode returns; the note is added to that report.
  await pollUntil(() => (c.jobs.get(job.id).state !== 'running' ? true : undefined), {
    intervalMs: 50,
    deadlineMs: 60_000,
  });
  c.jobs.addReportNote(job.id, note);
}

/** Waits for the retirements this agent started (closing the agent must not cut one off). */
export async function settleRetirements(c: MigrationContext): Promise<void> {
  await Promise.all([...(inFlight.get(c) ?? [])]);
}

/**
 * After a restart: a VM marked moved whose committed job journaled the start of its retirement
 * and no end had it cut off; it is finished now. Only then: a VM started here later with
 * --force (still marked moved) is not the source of that job and must not be touched.
 */
export async function finishRetirements(c: MigrationContext): Promise<void> {
  for (const row of c.vmStore.list()) {
    if (!row.owner.startsWith(MOVED) || row.state === 'moved') continue;
    const job = c.jobs.latestFor(row.name);
    if (!job || job.role !== 'source' || job.state !== 'completed' || !cutOff(c, job.id)) continue;
    c.jobs.journal(job.id, 'the agent restarted before the source was retired: retiring it now');
    await retireSource(c, row.name, row.owner.slice(MOVED.length), job.options.keepSource).then(
      () => c.jobs.journal(job.id, 'source retired after the restart'),
      (e: unknown) => noteRetirementFailure(c, job, e),
    );
  }
}

function cutOff(c: MigrationContext, jobId: string): boolean {
  const last = c.jobs
    .journalOf(jobId)
    .map((l) => l.entry)
    .findLast((e) => e === RETIRING || e.startsWith(RETIRED) || e.startsWith(RETIRE_FAILED));
  return last === RETIRING;
}
