// Counters and histograms of ended migration jobs, filled from the event bus's job.ended with
// the figures of the job's report (job-store.ts): how many ended and how, how long they took,
// the guest's downtime and the bytes moved. Names follow KubeVirt's kubevirt_vmi_migration_*;
// what runs now is read at scrape time instead (state-gauges.ts).
import { Counter, Histogram, type Registry } from 'prom-client';
import { errorCodeOfEnd, type JobState } from '../../protocol/migration.js';
import type { JobStore } from '../db/job-store.js';
import type { EventBus } from '../events/bus.js';

const MiB = 1024 * 1024;

export function jobMetrics(
  register: Registry,
  d: { events: Pick<EventBus, 'subscribe'>; jobs: JobStore },
): () => void {
  const ended = new Counter({
    name: 'vmhop_migrations_total',
    help: 'Migration jobs that ended on this host, by result (completed, failed, cancelled, ...), error code, mode and role.',
    labelNames: ['result', 'error_code', 'mode', 'role'] as const,
    registers: [register],
  });
  const total = new Histogram({
    name: 'vmhop_migration_total_seconds',
    help: 'Wall-clock time of a migration job from its start to its end.',
    labelNames: ['result', 'mode', 'role'] as const,
    buckets: [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [register],
  });
  const downtime = new Histogram({
    name: 'vmhop_migration_downtime_seconds',
    help: "Time the guest's vCPUs stood still at the switchover of a completed live migration (source's measure).",
    labelNames: ['mode'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [register],
  });
  const bytes = new Histogram({
    name: 'vmhop_migration_bytes',
    help: 'Bytes a migration job moved: guest RAM (kind=ram) and disk contents (kind=disk, all disks).',
    labelNames: ['kind', 'mode', 'role'] as const,
    // 16 MiB to 1 TiB by fours.
    buckets: Array.from({ length: 9 }, (_, i) => 16 * MiB * 4 ** i),
    registers: [register],
  });
  return d.events.subscribe((e) => {
    if (e.type !== 'job.ended') return;
    const job = d.jobs.find(e.job);
    if (!job) return;
    const result = e.state as JobState;
    const report = job.report;
    const errorCode = result === 'completed' ? '' : (report?.error?.code ?? errorCodeOfEnd(result));
    ended.inc({ result, error_code: errorCode, mode: job.mode, role: job.role });
    const seconds = report
      ? report.totalMs / 1000
      : (Date.parse(job.updatedAt) - Date.parse(job.createdAt)) / 1000;
    if (Number.isFinite(seconds)) total.observe({ result, mode: job.mode, role: job.role }, seconds);
    if (!report) return;
    if (result === 'completed' && report.downtimeMs !== undefined)
      downtime.observe({ mode: job.mode }, report.downtimeMs / 1000);
    if (report.ramBytes !== undefined)
      bytes.observe({ kind: 'ram', mode: job.mode, role: job.role }, report.ramBytes);
    const disk = Object.values(report.diskBytes ?? {});
    if (disk.length)
      bytes.observe(
        { kind: 'disk', mode: job.mode, role: job.role },
        disk.reduce((a, b) => a + b, 0),
      );
  });
}
