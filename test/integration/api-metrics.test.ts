// GET /metrics: behind the token like every API route, served in the Prometheus text format,
// and the Grafana dashboard asks only for what it serves. After a migration between two
// in-process agents over the fake QEMU, both hosts' figures (helpers/metrics-after-migration.ts;
// test/e2e/metrics-qemu.test.ts plays it on real QEMU).
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { metricsAfterMigration } from './helpers/metrics-after-migration.js';
import { sample } from './helpers/prom-sample.js';
import { TestAgent } from './helpers/test-agent.js';

const agents: TestAgent[] = [];
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
});

metricsAfterMigration('fake');
