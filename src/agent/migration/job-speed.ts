// virsh migrate-setspeed / migrate-setmaxdowntime / migrate-getspeed for a job this agent runs
// as source: QEMU's migrate-set-parameters on the source QEMU (max-bandwidth in bytes/s, also
// max-postcopy-bandwidth when post-copy may run; downtime-limit in ms), a journal line, and the
// job's stored options, so the report names the cap that applied last. Only the RAM stream is
// capped, as with --bandwidth: a live-copy's disk mirrors run unthrottled either way.
import { VmhopError } from '../../protocol/errors.js';
import type { JobSpeed } from '../../protocol/job-speed.js';
import {
  migrateSetParameters,
  queryMigrate,
  queryMigrateParameters,
  type QmpSession,
} from '../../qmp/index.js';
import type { JobRow } from '../db/job-store.js';
import type { MigrationContext } from './context.js';
import { defaultDowntimeLimitMs, unlimitedBandwidthBps } from './options.js';

const MiB = 1024 * 1024;
/** QEMU statuses in which the RAM stream runs (or is about to) and takes new parameters. */
const COPYING = new Set(['setup', 'active', 'postcopy-active', 'postcopy-paused', 'postcopy-recover']);

type Verb = 'migrate-setspeed' | 'migrate-setmaxdowntime' | 'migrate-getspeed';

/** The source QEMU of a running live job, or a refusal naming why there is none here. */
function sourceQmpOf(c: MigrationContext, job: JobRow, running: boolean, verb: Verb): QmpSession {
  if (job.role !== 'source') {
    throw new VmhopError(
      'VMHOP_ERR_VM_STATE',
      `job \`${job.id}\` is the incoming side on this host: only the source sets the stream's speed; ask it, \`vmhop -c ${job.peer} ${verb} ${job.vm}\``,
      { job: job.id, source: job.peer },
    );
  }
  if (!running || job.state !== 'running') {
    throw new VmhopError('VMHOP_ERR_VM_STATE', `job \`${job.id}\` is not running here (state ${job.state})`, {
      job: job.id,
    });
  }
  if (job.mode === 'offline') {
    throw new VmhopError(
      'VMHOP_ERR_VM_STATE',
      `job \`${job.id}\` is an offline migration: its volumes are streamed by the agents, not by a QEMU migration, so ${verb} has nothing to apply to`,
      { job: job.id, mode: job.mode },
    );
  }
  const qmp = c.supervisor.qmpOf(job.vm);
  if (!qmp) {
    throw new VmhopError('VMHOP_ERR_VM_STATE', `VM \`${job.vm}\` has no QEMU running on this host`, {
      job: job.id,
    });
  }
  return qmp;
}

/** Setting a parameter QEMU would not use any more (or not yet) is refused, not silently lost. */
async function assertCopying(qmp: QmpSession, job: JobRow, verb: Verb): Promise<string> {
  const status = (await queryMigrate(qmp)).status ?? 'none';
  if (job.phase !== 'perform' || !COPYING.has(status)) {
    const notYet =
      job.phase === 'begin' || job.phase === 'prepare' || (job.phase === 'perform' && status === 'none');
    throw new VmhopError(
      'VMHOP_ERR_VM_STATE',
      notYet
        ? `job \`${job.id}\` has not started copying RAM yet (a live-copy copies its disks first): the job's planned values apply when it does; run ${verb} again once \`vmhop domjobinfo ${job.vm}\` shows RAM being copied`
        : `job \`${job.id}\` is past the RAM copy (phase ${job.phase}, QEMU migration status ${status}): ${verb} applies only while RAM is being copied`,
      { job: job.id, phase: job.phase, status },
    );
  }
  return status;
}

export async function setSpeed(
  c: MigrationContext,
  job: JobRow,
  running: boolean,
  mibPerS: number,
): Promise<JobSpeed> {
  const qmp = sourceQmpOf(c, job, running, 'migrate-setspeed');
  await assertCopying(qmp, job, 'migrate-setspeed');
  const bps = mibPerS === 0 ? unlimitedBandwidthBps : mibPerS * MiB;
  // Post-copy reads its own cap; the plan set both alike, so both move together.
  await migrateSetParameters(qmp, {
    'max-bandwidth': bps,
    ...(job.options.postcopy ? { 'max-postcopy-bandwidth': bps } : {}),
  });
  const was = job.options.bandwidthMiBs;
  if (mibPerS === 0) delete job.options.bandwidthMiBs;
  else job.options.bandwidthMiBs = mibPerS;
  c.jobs.setOptions(job.id, job.options);
  c.jobs.journal(job.id, `bandwidth set to ${capText(job.options.bandwidthMiBs)} (was ${capText(was)})`);
  return speedOf(job, qmp);
}

export async function setMaxDowntime(
  c: MigrationContext,
  job: JobRow,
  running: boolean,
  ms: number,
): Promise<JobSpeed> {
  const qmp = sourceQmpOf(c, job, running, 'migrate-setmaxdowntime');
  const status = await assertCopying(qmp, job, 'migrate-setmaxdowntime');
  if (status.startsWith('postcopy')) {
    throw new VmhopError(
      'VMHOP_ERR_VM_STATE',
      `job \`${job.id}\` runs in post-copy: the VM already runs on the target, so a downtime limit no longer applies`,
      { job: job.id, status },
    );
  }
  await migrateSetParameters(qmp, { 'downtime-limit': ms });
  const was = job.options.maxDowntimeMs ?? defaultDowntimeLimitMs;
  job.options.maxDowntimeMs = ms;
  c.jobs.setOptions(job.id, job.options);
  c.jobs.journal(job.id, `max downtime set to ${ms} ms (was ${was} ms)`);
  return speedOf(job, qmp);
}

/** What the source QEMU applies now, read back from it rather than from what vmhop asked. */
export async function getSpeed(c: MigrationContext, job: JobRow, running: boolean): Promise<JobSpeed> {
  return speedOf(job, sourceQmpOf(c, job, running, 'migrate-getspeed'));
}

async function speedOf(job: JobRow, qmp: QmpSession): Promise<JobSpeed> {
  const p = await queryMigrateParameters(qmp);
  const bps = p['max-bandwidth'];
  return {
    job: job.id,
    vm: job.vm,
    bandwidthMiBs: bps === undefined || bps >= unlimitedBandwidthBps ? null : bps / MiB,
    maxDowntimeMs: p['downtime-limit'] ?? defaultDowntimeLimitMs,
  };
}

const capText = (mibs: number | undefined) => (mibs === undefined ? 'no cap' : `${mibs} MiB/s`);
