// The target's part of a post-copy migration. The commit record is written while the source is
// stopped at its pre-switchover pause, before QEMU sends the device state: from then on the
// target may run, and its RAM arrives page by page, so the job stays running until the incoming
// stream completes. A stalled stream is paused and recovered on a new listener (migrate-pause /
// migrate-recover, out of band: a vCPU waiting for a page can block QEMU's main loop).
import {
  migratePause,
  queryMigrate,
  queryStatus,
  type QmpExecutor,
  type QmpSession,
} from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';
import type { PostcopyReply } from '../../peers/peer-link.js';
import type { MigrationContext } from '../context.js';
import { pollUntil } from '../../poll-until.js';
import { listenIncoming, type ListenOptions } from './listen.js';
import { RamGate } from './ram-gate.js';

/** Statuses of the incoming side once post-copy started. */
const POSTCOPY = new Set(['postcopy-active', 'postcopy-paused', 'postcopy-recover']);

/** The post-copy commit is taken only while the incoming RAM copy is healthy. */
export async function checkReadyForPostcopy(qmp: QmpExecutor): Promise<void> {
  const st = (await queryMigrate(qmp)).status;
  if (st !== 'active') {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_FAILED',
      `the incoming migration is ${st ?? 'not running'}, not active: the target does not take over for post-copy`,
      { status: st, outcomeKnown: true },
    );
  }
}

/**
 * After the commit, QEMU first receives the device state and the "run" command, which (with -S)
 * leaves it `paused` instead of `inmigrate`; `cont` is only meaningful from then on.
 */
export async function waitPostcopyRunnable(qmp: QmpExecutor, timeoutMs: number): Promise<void> {
  let mig: string | undefined;
  let run: string | undefined;
  const runnable = await pollUntil(
    async () => {
      mig = (await queryMigrate(qmp)).status;
      if (mig === 'failed' || mig === 'cancelled') {
        throw new VmhopError('VMHOP_ERR_MIGRATION_FAILED', `the incoming post-copy ${mig} on the target`, {
          status: mig,
        });
      }
      run = (await queryStatus(qmp)).status;
      return run !== 'inmigrate' && (mig === 'completed' || POSTCOPY.has(mig ?? '')) ? true : undefined;
    },
    { intervalMs: 50, deadlineMs: timeoutMs },
  );
  if (!runnable) {
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_FAILED',
      `the target did not receive the device state within ${timeoutMs / 1000} s (migration ${mig}, run state ${run})`,
      { status: mig },
    );
  }
}

/**
 * Pauses this end of a stalled post-copy stream; an end that is already paused is left as it is.
 * Nothing in band is asked: the main loop may be blocked, and the source only needs the pause.
 */
export async function pauseIncoming(qmp: QmpSession): Promise<PostcopyReply> {
  await migratePause(qmp, { timeoutMs: 5_000 }).catch(() => undefined);
  return {};
}

/**
 * A new listener for the source's `migrate resume`, behind a RAM gate like the first one. QEMU
 * refuses a second migrate-recover while an earlier one still listens ("triggered already"), be it
 * this agent's or the one's before a restart: then a new gate is put in front of that listener
 * (named by query-migrate), with today's admission rules: answering the earlier gate's port again
 * would repeat whatever went wrong with it, and after a restart there is no earlier gate.
 */
export async function recoverIncoming(
  qmp: QmpSession,
  o: ListenOptions,
  listening: Map<string, number>,
  jobId: string,
  keep: (gate: RamGate) => void,
): Promise<PostcopyReply> {
  try {
    const gate = await listenIncoming(qmp, { ...o, recover: true });
    keep(gate);
    listening.set(jobId, gate.port);
    return { address: o.address, port: gate.port };
  } catch (e) {
    const earlier = listening.get(jobId);
    if (/triggered already/i.test((e as Error).message)) {
      const upstream = await listenerOf(qmp);
      if (upstream) {
        const gate = await RamGate.open({ ...o, upstream });
        keep(gate);
        listening.set(jobId, gate.port);
        o.note(`QEMU still listens for the resumed stream on ${upstream}: a new gate in front of it`);
        return { address: o.address, port: gate.port };
      }
      if (earlier !== undefined) return { address: o.address, port: earlier };
    }
    throw new VmhopError(
      'VMHOP_ERR_MIGRATION_FAILED',
      `the target cannot listen for the resumed post-copy: ${(e as Error).message}`,
      { outcomeKnown: true },
    );
  }
}

/** The unix socket QEMU's incoming side listens on (query-migrate's socket-address), if it answers. */
async function listenerOf(qmp: QmpExecutor): Promise<string | undefined> {
  const info = await queryMigrate(qmp, { timeoutMs: 2_000 }).catch(() => undefined);
  const unix = info?.['socket-address']?.find((a) => a.type === 'unix');
  return unix?.type === 'unix' ? unix.path : undefined;
}

/** The incoming status, or `unknown` when the in-band monitor is blocked (a vCPU waits for a page). */
async function incomingStatus(qmp: QmpExecutor): Promise<string> {
  try {
    return (await queryMigrate(qmp, { timeoutMs: 2_000 })).status ?? 'none';
  } catch {
    return 'unknown';
  }
}

/**
 * QEMU's MIGRATION event for the end of the incoming stream, or 1 s, whichever comes first: the
 * job ends when the last page arrives, not up to a second later (the web UI showed the source's
 * completed report while the target still listed the VM as migrating). The status is read after
 * either, so an end that came before the wait began is still seen.
 */
async function endOrSecond(qmp: QmpSession | undefined): Promise<void> {
  if (!qmp) return new Promise((r) => setTimeout(r, 1_000));
  await qmp
    .waitEvent('MIGRATION', (e) => e.data.status === 'completed' || e.data.status === 'failed', {
      timeoutMs: 1_000,
    })
    .catch(() => undefined);
}

/**
 * Ends the target's job once every page has arrived. Bounded by the VM's QEMU: a QEMU that exits
 * during post-copy took the only running copy of the guest with it, which the job says.
 */
export async function followPostcopyIncoming(c: MigrationContext, jobId: string): Promise<void> {
  const vm = c.jobs.get(jobId).vm;
  for (;;) {
    await endOrSecond(c.supervisor.qmpOf(vm));
    const job = c.jobs.find(jobId);
    if (!job || job.state !== 'running') return;
    const qmp = c.supervisor.qmpOf(vm);
    const st = qmp ? await incomingStatus(qmp) : 'gone';
    if (st === 'completed') {
      c.jobs.end(jobId, 'completed');
      c.events.publish({ type: 'job.ended', job: jobId, vm, state: 'completed' });
      return;
    }
    if (st === 'gone' || st === 'failed') {
      c.jobs.journal(
        jobId,
        `post-copy ${st === 'gone' ? 'QEMU exited' : 'failed'} before every page arrived`,
      );
      c.jobs.end(jobId, 'needs-operator');
      c.events.publish({ type: 'job.ended', job: jobId, vm, state: 'needs-operator' });
      return;
    }
  }
}
