// A drain as the API shows it (protocol DrainJob): its stored row with totals, and a VM's move
// outcome read from the migration job that made it (time, pause, bytes, error). Pure.
import type { DrainJob, DrainVm } from '../../protocol/drain.js';
import type { JobInfo } from '../../protocol/migration.js';
import type { DrainRow } from '../db/drain-store.js';

export function drainJobOf(d: DrainRow, now: Date = new Date()): DrainJob {
  const count = (state: DrainVm['state']) => d.vms.filter((v) => v.state === state).length;
  const end = d.state === 'running' ? now.getTime() : Date.parse(d.updatedAt);
  return {
    id: d.id,
    host: d.host,
    state: d.state,
    cancelRequested: d.cancelRequested,
    limits: d.limits,
    vms: d.vms,
    unplaceable: d.unplaceable,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    total: {
      vms: d.vms.length + d.unplaceable.length,
      moved: count('moved'),
      failed: count('failed'),
      cancelled: count('cancelled'),
      queued: count('queued'),
      seconds: Math.max(0, Math.round((end - Date.parse(d.createdAt)) / 100) / 10),
      bytes: d.vms.reduce((n, v) => n + (v.bytes ?? 0), 0),
    },
  };
}

/** A VM's move once its migration job ended: moved only when the job completed. */
export function outcomeOf(vm: DrainVm, job: JobInfo, endedAt: string): DrainVm {
  const r = job.report;
  const bytes = r ? (r.ramBytes ?? 0) + Object.values(r.diskBytes ?? {}).reduce((n, b) => n + b, 0) : 0;
  const state: DrainVm['state'] =
    job.state === 'completed' ? 'moved' : job.state === 'cancelled' ? 'cancelled' : 'failed';
  return {
    ...vm,
    state,
    endedAt,
    ...(r ? { seconds: Math.round(r.totalMs / 100) / 10, bytes } : {}),
    ...(r?.downtimeMs !== undefined ? { pauseMs: r.downtimeMs } : {}),
    ...(state !== 'moved'
      ? {
          error: r?.error
            ? { code: r.error.code, message: r.error.message }
            : { code: 'VMHOP_ERR_MIGRATION_FAILED', message: `migration job ${job.id} ended ${job.state}` },
        }
      : {}),
  };
}
