// A live migration between two in-process agents, then GET /metrics on both: the counters and
// histograms show the job's figures from its report, and the source logged the job's start and
// end as one structured line each. Over the fake QEMU (unit project) or the installed QEMU (e2e).
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFakeQemu, type FakeQemu } from '../../fake-qemu/build.js';
import { agentPair, migrateV1 } from './agent-pair.js';
import type { PairBackend } from './pair-matrix.js';
import { sample } from './prom-sample.js';
import type { TestAgent } from './test-agent.js';

export function metricsAfterMigration(backend: PairBackend): void {
  let fake: FakeQemu | undefined;
  const agents: TestAgent[] = [];
  beforeAll(async () => {
    if (backend === 'fake') fake = await buildFakeQemu();
  });
  afterAll(async () => fake?.remove());
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.close()));
  });

  describe(`GET /metrics after a migration (${backend} QEMU)`, () => {
    it("shows a finished live migration's figures on both hosts, and logs its start and end", async () => {
      const lines: Record<string, unknown>[] = [];
      const logger = pino(
        { level: 'info' },
        new Writable({
          write(chunk: Buffer, _enc, done) {
            lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
            done();
          },
        }),
      );
      const { a, b } = await agentPair(agents, { ...(fake ? { qemuBinary: fake.binary } : {}), logger });
      const job = await migrateV1(a);
      expect(job.state).toBe('completed');

      const src = (await a.api('GET', '/metrics')).text;
      const done = { result: 'completed', mode: 'live-shared', host: 'a' };
      expect(sample(src, 'vmhop_migrations_total', { ...done, role: 'source', error_code: '' })).toBe(1);
      expect(sample(src, 'vmhop_migration_total_seconds_count', { ...done, role: 'source' })).toBe(1);
      expect(sample(src, 'vmhop_migration_total_seconds_sum', { ...done, role: 'source' })).toBeCloseTo(
        job.report!.totalMs / 1000,
      );
      expect(sample(src, 'vmhop_migration_downtime_seconds_count', { mode: 'live-shared' })).toBe(1);
      expect(sample(src, 'vmhop_migration_downtime_seconds_sum', { mode: 'live-shared' })).toBeCloseTo(
        job.report!.downtimeMs! / 1000,
      );
      expect(sample(src, 'vmhop_migration_bytes_sum', { kind: 'ram', role: 'source' })).toBe(
        job.report!.ramBytes,
      );
      expect(sample(src, 'vmhop_migrations_running')).toBeUndefined();

      const dst = (await b.api('GET', '/metrics')).text;
      expect(sample(dst, 'vmhop_migrations_total', { result: 'completed', role: 'target', host: 'b' })).toBe(
        1,
      );
      expect(sample(dst, 'vmhop_vms', { state: 'running', host: 'b' })).toBe(1);

      const ofJob = lines.filter((l) => l.job === job.id);
      expect(ofJob.find((l) => l.event === 'migration.start')).toMatchObject({
        vm: 'v1',
        source: 'a',
        target: 'b',
        mode: 'live-shared',
        role: 'source',
        who: 'config-token-1',
      });
      expect(ofJob.find((l) => l.event === 'migration.end' && l.role === 'source')).toMatchObject({
        vm: 'v1',
        source: 'a',
        target: 'b',
        result: 'completed',
        totalMs: job.report!.totalMs,
        downtimeMs: job.report!.downtimeMs,
        who: 'config-token-1',
      });
    });
  });
}
