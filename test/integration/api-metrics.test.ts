// GET /metrics: behind the token like every API route, and after a real migration between two
// in-process agents (the fake QEMU process, so it takes a second) both hosts' counters and
// histograms show the job's figures, and each host logged the job's start and end as one line.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { agentPair } from './helpers/agent-pair.js';
import { sample } from './helpers/prom-sample.js';
import { TestAgent } from './helpers/test-agent.js';

let fake: FakeQemu;
const agents: TestAgent[] = [];
beforeAll(async () => {
  fake = await buildFakeQemu();
});
afterAll(async () => fake?.remove());
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
});

describe('GET /metrics', () => {
  it('refuses a scrape without a token and answers one with a token in the Prometheus text format', async () => {
    const agent = await TestAgent.start();
    agents.push(agent);
    expect((await agent.raw({ method: 'GET', url: '/metrics' })).status).toBe(401);
    const res = await agent.api('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(res.text, 'vmhop_vms', { state: 'shutoff', host: 't' })).toBe(0);
    expect(sample(res.text, 'vmhop_pool_capacity_bytes', { pool: 'default' })).toBeGreaterThan(0);
    expect(sample(res.text, 'vmhop_pool_free_bytes', { pool: 'default' })).toBeGreaterThan(0);
    // The Grafana dashboard asks only for metrics the agent serves.
    const dashboard = await readFile(
      resolve(import.meta.dirname, '../../packaging/grafana-vmhop.json'),
      'utf8',
    );
    const asked = new Set(
      [...dashboard.matchAll(/vmhop_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')),
    );
    const served = new Set([...res.text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    expect([...asked].filter((n) => !served.has(n))).toEqual([]);
  });

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
    const { a, b } = await agentPair(agents, { qemuBinary: fake.binary, logger });
    const res = await a.api('POST', '/v1/migrations', {
      vm: 'v1',
      to: 'b',
      mode: 'live-shared',
      options: { insecure: true },
    });
    expect(res.status, res.text).toBe(202);
    const job = await a.services.engine.wait(res.body.job.id as string);
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
    expect(sample(dst, 'vmhop_migrations_total', { result: 'completed', role: 'target', host: 'b' })).toBe(1);
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
