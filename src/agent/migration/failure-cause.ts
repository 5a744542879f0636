// Why a job failed, said as what it was rather than as the last error seen: before the commit, a
// source QEMU that died is a crash of the VM (with how to start it again), and a target agent that
// no longer answers is named instead of QEMU's socket error; anything else keeps its own error
// (QMP errors as VMHOP_ERR_QMP with their details).
import { isVmhopError, VmhopError } from '../../protocol/errors.js';
import { fromQmp } from '../../qmp/as-vmhop-error.js';
import type { JobRow } from '../db/job-store.js';
import type { PeerLink } from '../peers/peer-link.js';
import { pollUntil } from '../poll-until.js';
import type { MigrationContext } from './context.js';
import { subjectOf } from './job-subject.js';
import { TARGET_READY_TIMEOUT_MS } from './outgoing/target-ready.js';

export async function causeOfFailure(
  c: MigrationContext,
  job: JobRow,
  vm: string,
  peer: PeerLink,
  e: unknown,
): Promise<VmhopError> {
  return (
    (await sourceCrash(c, job, vm, e)) ??
    (await targetSilent(c, job, peer, e)) ??
    (isVmhopError(e)
      ? e
      : (fromQmp(e) ?? new VmhopError('VMHOP_ERR_MIGRATION_FAILED', (e as Error).message, {}, e)))
  );
}

/**
 * A live migration that failed before its commit because the source QEMU died is a crash of
 * the VM, not a failed move: said so, with how to start it again (the supervisor marks the VM
 * crashed when QEMU's socket closes, which may come just after the mode's own QMP error).
 */
async function sourceCrash(
  c: MigrationContext,
  job: JobRow,
  vm: string,
  cause: unknown,
): Promise<VmhopError | undefined> {
  if (job.mode === 'offline' || subjectOf(job).kind === 'volume') return undefined;
  const phase = c.jobs.get(job.id).phase;
  if (phase === 'finish' || phase === 'confirm') return undefined;
  // A QEMU that still answers did not crash: no wait for the supervisor then.
  if (c.supervisor.qmpOf(vm)?.isClosed === false) return undefined;
  const crashed = await pollUntil(() => (c.vmStore.get(vm)?.state === 'crashed' ? true : undefined), {
    intervalMs: 100,
    deadlineMs: 2_000,
  });
  if (!crashed) return undefined;
  return new VmhopError(
    'VMHOP_ERR_VM_CRASHED',
    `the source QEMU of \`${vm}\` exited during the migration (the VM crashed); nothing was committed on \`${job.peer}\`, which drops its side. The disks are as the guest left them: \`vmhop start ${vm}\` boots it again here, and its console (\`vmhop console-log ${vm}\`) may say why it died`,
    { vm, job: job.id, cause: (cause as Error).message },
  );
}

/**
 * A migration that failed before the commit while the target's agent does not answer (killed,
 * frozen, cut off): said so, instead of QEMU's "Broken pipe" or "Connection refused".
 */
async function targetSilent(
  c: MigrationContext,
  job: JobRow,
  peer: PeerLink,
  cause: unknown,
): Promise<VmhopError | undefined> {
  if (isVmhopError(cause) && cause.code !== 'VMHOP_ERR_MIGRATION_FAILED') return undefined;
  const phase = c.jobs.get(job.id).phase;
  if (phase === 'finish' || phase === 'confirm') return undefined;
  const answered = await Promise.race([
    peer.job(job.id).then(
      () => true,
      (e: unknown) => isVmhopError(e) && e.details.outcomeKnown === true,
    ),
    new Promise<boolean>((r) => setTimeout(() => r(false), TARGET_READY_TIMEOUT_MS).unref()),
  ]);
  if (answered) return undefined;
  return new VmhopError(
    'VMHOP_ERR_MIGRATION_FAILED',
    `the agent of \`${job.peer}\` stopped answering during the migration (${(cause as Error).message}); nothing was committed and the VM runs on the source; \`${job.peer}\` removes its side when its agent answers again (check \`vmhop -c ${job.peer} job show ${job.id}\`)`,
    { job: job.id, peer: job.peer, cause: (cause as Error).message },
  );
}
