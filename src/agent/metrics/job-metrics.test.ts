// Job counters and histograms from job.ended, over a real registry database and event bus:
// the result, error code, mode and role as labels, and the report's figures in the histograms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationOptions, type JobReport } from '../../protocol/migration.js';
import { JobStore } from '../db/job-store.js';
import { openDb, type Db } from '../db/open.js';
import { EventBus } from '../events/bus.js';
import { jobMetrics } from './job-metrics.js';

let dir: string;
let db: Db;
let jobs: JobStore;
let events: EventBus;
let register: Registry;
let stop: () => void;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-metrics-'));
  db = openDb(join(dir, 'registry.sqlite'));
  jobs = new JobStore(db);
  events = new EventBus();
  register = new Registry();
  stop = jobMetrics(register, { events, jobs });
});
afterEach(() => {
  stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const options = MigrationOptions.parse({});

function endJob(id: string, state: 'completed' | 'failed' | 'cancelled', report?: Partial<JobReport>) {
  jobs.create({ id, vm: 'web1', mode: 'live-copy', role: 'source', peer: 'b', phase: 'begin', options });
  jobs.end(
    id,
    state,
    report && { result: state, totalMs: 0, encrypted: true, options, notes: [], ...report },
  );
  events.publish({ type: 'job.ended', job: id, vm: 'web1', state });
}

describe('job metrics', () => {
  it('counts a completed job and observes its total, downtime and bytes from the report', async () => {
    endJob('j1', 'completed', {
      totalMs: 12_000,
      downtimeMs: 40,
      ramBytes: 100 * 2 ** 20,
      diskBytes: { vda: 2 ** 30, vdb: 2 ** 30 },
    });
    const text = await register.metrics();
    expect(text).toContain(
      'vmhop_migrations_total{result="completed",error_code="",mode="live-copy",role="source"} 1',
    );
    expect(text).toContain(
      'vmhop_migration_total_seconds_sum{result="completed",mode="live-copy",role="source"} 12',
    );
    expect(text).toContain('vmhop_migration_downtime_seconds_sum{mode="live-copy"} 0.04');
    expect(text).toContain(
      `vmhop_migration_bytes_sum{kind="ram",mode="live-copy",role="source"} ${100 * 2 ** 20}`,
    );
    expect(text).toContain(
      `vmhop_migration_bytes_sum{kind="disk",mode="live-copy",role="source"} ${2 ** 31}`,
    );
  });

  it("labels a failed job with its error code and a cancelled one without a report with the end's code", async () => {
    endJob('j1', 'failed', { totalMs: 3_000, error: { code: 'VMHOP_ERR_QMP', message: 'migrate failed' } });
    endJob('j2', 'cancelled');
    const text = await register.metrics();
    expect(text).toContain(
      'vmhop_migrations_total{result="failed",error_code="VMHOP_ERR_QMP",mode="live-copy",role="source"} 1',
    );
    expect(text).toContain(
      'vmhop_migrations_total{result="cancelled",error_code="VMHOP_ERR_MIGRATION_CANCELLED",mode="live-copy",role="source"} 1',
    );
    // No downtime for a job that did not complete.
    expect(text).not.toMatch(/vmhop_migration_downtime_seconds_count\{[^}]*\} [1-9]/);
  });
});
