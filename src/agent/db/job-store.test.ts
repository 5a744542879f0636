// The job history in a real registry file: pages in a stable newest-first order with a cursor,
// and pruning by age that spares running, interrupted and needs-operator jobs (and every job
// of a VM whose migration is unresolved). The clock is the store's, set by the test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationOptions, type JobState } from '../../protocol/migration.js';
import { JobStore } from './job-store.js';
import { openDb, type Db } from './open.js';

let dir: string;
let db: Db;
let clock: number;
let jobs: JobStore;
const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-jobs-'));
  db = openDb(join(dir, 'registry.sqlite'));
  clock = T0;
  jobs = new JobStore(db, () => new Date(clock));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A job of `vm` created now (the test's clock), ended in `state` unless it is running. */
function job(vm: string, state: JobState = 'completed'): string {
  const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  jobs.create({
    id,
    vm,
    mode: 'offline',
    role: 'source',
    peer: 'b',
    phase: 'begin',
    options: MigrationOptions.parse({}),
  });
  jobs.addArtifact(id, 'volume', `/tmp/${id}`);
  if (state !== 'running') jobs.end(id, state);
  return id;
}

describe('paging the job history', () => {
  it('returns every job once, newest first, across pages, also for jobs created in the same millisecond', () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push(job(`vm${i}`));
      if (i % 3 === 2) clock += 1; // three jobs share each timestamp
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = jobs.page({ limit: 3, ...(cursor ? { cursor } : {}) });
      expect(page.jobs.length).toBeLessThanOrEqual(3);
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('gives no cursor when the page holds the last job', () => {
    for (let i = 0; i < 3; i++) job('web1');
    expect(jobs.page({ limit: 3 }).nextCursor).toBeUndefined();
    expect(jobs.page({ limit: 2 }).nextCursor).toEqual(expect.any(String));
  });

  it('refuses a cursor it did not give out, naming it', () => {
    expect(() => jobs.page({ limit: 3, cursor: 'bogus' })).toThrow(
      expect.objectContaining({
        code: 'VMHOP_ERR_USAGE',
        message: expect.stringMatching(/`bogus`.*nextCursor/),
      }),
    );
  });
});

describe('pruning ended jobs', () => {
  it('removes ended jobs older than the cutoff with their journals and artifacts, and keeps newer ones', () => {
    const old = [job('a', 'completed'), job('b', 'failed'), job('c', 'cancelled')];
    clock += 10 * DAY;
    const recent = job('d', 'completed');
    const pruned = jobs.prune(new Date(clock - 5 * DAY));
    expect(pruned.sort()).toEqual([...old].sort());
    expect(jobs.list().map((j) => j.id)).toEqual([recent]);
    for (const id of old) {
      expect(jobs.journalOf(id)).toEqual([]);
      expect(jobs.artifacts(id)).toEqual([]);
    }
    expect(jobs.journalOf(recent).length).toBeGreaterThan(0);
  });

  it('never removes running, interrupted or needs-operator jobs, however old', () => {
    const kept = [job('a', 'running'), job('b', 'interrupted'), job('c', 'needs-operator')];
    clock += 400 * DAY;
    expect(jobs.prune(new Date(clock - DAY))).toEqual([]);
    expect(
      jobs
        .list()
        .map((j) => j.id)
        .sort(),
    ).toEqual(kept.sort());
  });

  it('keeps every job of a VM whose migration is unresolved, so its latest job stays the same', () => {
    const unresolved = job('web1', 'needs-operator');
    clock += 1;
    const completed = job('web1', 'completed');
    const other = job('db1', 'completed');
    clock += 400 * DAY;
    expect(jobs.prune(new Date(clock - DAY))).toEqual([other]);
    expect(jobs.latestFor('web1')?.id).toBe(completed);
    expect(jobs.find(unresolved)?.state).toBe('needs-operator');
  });

  it('counts age from when the job ended, not from when it began', () => {
    const id = job('web1', 'running');
    clock += 20 * DAY;
    jobs.end(id, 'completed');
    expect(jobs.prune(new Date(clock - 5 * DAY))).toEqual([]);
  });
});

describe("a job's protocol version", () => {
  it('is kept as created, and a job from before the version was kept reads as 2', () => {
    const options = MigrationOptions.parse({});
    const base = { vm: 'v', mode: 'offline', role: 'source', peer: 'b', phase: 'begin', options } as const;
    jobs.create({ ...base, id: '00000000-0000-4000-8000-00000000a003', protocolVersion: 3 });
    jobs.create({ ...base, id: '00000000-0000-4000-8000-00000000a000' });
    db.prepare('UPDATE jobs SET protocol_version = NULL WHERE id = ?').run(
      '00000000-0000-4000-8000-00000000a000',
    );
    expect(jobs.get('00000000-0000-4000-8000-00000000a003').protocolVersion).toBe(3);
    expect(jobs.get('00000000-0000-4000-8000-00000000a000').protocolVersion).toBe(2);
    expect(jobs.journalOf('00000000-0000-4000-8000-00000000a003')[0]?.entry).toMatch(/vmhop protocol 3/);
  });
});
