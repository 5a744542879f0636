// `GET /v1/jobs?limit=&cursor=` and `vmhop job list --limit N [--cursor C] [--all]` against a
// real agent (fastify on loopback, its registry holding more jobs than one page).
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MigrationOptions } from '../../src/protocol/migration.js';
import { runVmhop } from '../../src/cli/testing/run-vmhop.js';
import { expectApiError } from './helpers/api-expect.js';
import { TestAgent, TOKEN } from './helpers/test-agent.js';

let agent: TestAgent;
let ids: string[];
const JOBS = 7;

beforeAll(() => {
  process.env.VMHOP_HOSTS = join(tmpdir(), `vmhop-job-list-test-${process.pid}-none.json`);
});
afterAll(() => {
  delete process.env.VMHOP_HOSTS;
});
beforeEach(async () => {
  agent = await TestAgent.start();
  ids = [];
  for (let i = 0; i < JOBS; i++) {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    agent.services.jobStore.create({
      id,
      vm: `vm${i}`,
      mode: 'offline',
      role: 'source',
      peer: 'b',
      phase: 'begin',
      options: MigrationOptions.parse({}),
    });
    agent.services.jobStore.end(id, 'completed');
    ids.push(id);
  }
  ids.reverse(); // newest first, as listed (ids break ties of jobs made in the same millisecond)
});
afterEach(async () => {
  await agent.close();
});

describe('GET /v1/jobs in pages', () => {
  it('pages through every job newest first, with a cursor until the last page', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const q = new URLSearchParams({ limit: '3', ...(cursor ? { cursor } : {}) });
      const res = await agent.api('GET', `/v1/jobs?${q.toString()}`);
      expect(res.status).toBe(200);
      seen.push(...(res.body.jobs as { id: string }[]).map((j) => j.id));
      cursor = res.body.nextCursor as string | undefined;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
  });

  it('answers 200 jobs at most without a limit, and no cursor when all fit', async () => {
    const res = await agent.api('GET', '/v1/jobs');
    expect(res.body.jobs).toHaveLength(JOBS);
    expect(res.body.nextCursor).toBeUndefined();
  });

  it.each([
    ['limit=0', /limit/],
    ['limit=1001', /limit/],
    ['cursor=not-ours', /cursor `not-ours` is not one this agent gave out/],
  ])('refuses %s with 400 VMHOP_ERR_USAGE', async (q, msg) => {
    expectApiError(await agent.api('GET', `/v1/jobs?${q}`), 400, 'VMHOP_ERR_USAGE', msg);
  });
});

describe('vmhop job list', () => {
  let url: string;
  beforeEach(async () => {
    url = await agent.listen();
  });
  const vmhop = (...args: string[]) => runVmhop('-c', url, '--token', TOKEN, ...args);

  it('prints one page and a hint with the command for the next', async () => {
    const r = await vmhop('job', 'list', '--limit', '4');
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 4).map((l) => l.split(' ')[0])).toEqual(ids.slice(0, 4));
    const hint =
      /^more jobs: vmhop -c \S+ job list --limit 4 --cursor (\S+) {2}\(or --all for every job\)$/.exec(
        lines[4] ?? '',
      );
    expect(hint).not.toBeNull();
    const rest = await vmhop('--json', 'job', 'list', '--limit', '4', '--cursor', hint![1]!);
    expect((JSON.parse(rest.stdout) as { jobs: { id: string }[] }).jobs.map((j) => j.id)).toEqual(
      ids.slice(4),
    );
  });

  it('--all follows every page (of --limit jobs each); --json prints one document without a cursor', async () => {
    const r = await vmhop('--json', 'job', 'list', '--all', '--limit', '3');
    const doc = JSON.parse(r.stdout) as { jobs: { id: string }[]; nextCursor?: string };
    expect(doc.jobs.map((j) => j.id)).toEqual(ids);
    expect(doc.nextCursor).toBeUndefined();
  });

  it('refuses a --limit outside 1-1000 before asking the agent (exit 2)', async () => {
    const r = await vmhop('--json', 'job', 'list', '--limit', '0');
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({
      error: { code: 'VMHOP_ERR_USAGE', message: /--limit `0`/ },
    });
  });
});
