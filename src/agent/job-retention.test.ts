// Job retention as the agent runs it: `jobRetentionDays` from the config (default 30, and
// longer than unresolvedFollowHours), a prune at start and one per interval, on an injected clock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MigrationOptions } from '../protocol/migration.js';
import { loadConfig } from './config.js';
import { JobStore } from './db/job-store.js';
import { openDb, type Db } from './db/open.js';
import { DAY_MS, pruneJobs, startJobRetention } from './job-retention.js';

const base = { name: 'a', listen: '127.0.0.1:8443', insecure: true };
const log = { info: () => undefined, error: () => undefined };

describe('jobRetentionDays', () => {
  it('defaults to 30 days', () => {
    expect(loadConfig(undefined, base).jobRetentionDays).toBe(30);
  });

  it('refuses a retention that ends before a peer may stop asking about a switchover', () => {
    expect(() => loadConfig(undefined, { ...base, jobRetentionDays: 1, unresolvedFollowHours: 48 })).toThrow(
      /jobRetentionDays 1 \(24 h\) must be longer than unresolvedFollowHours 48.*above 2/,
    );
    expect(
      loadConfig(undefined, { ...base, jobRetentionDays: 3, unresolvedFollowHours: 48 }).jobRetentionDays,
    ).toBe(3);
  });
});

describe('pruning on a schedule', () => {
  let dir: string;
  let db: Db;
  let clock: number;
  let jobs: JobStore;
  let n = 0;
  const ended = () => {
    const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const options = MigrationOptions.parse({});
    jobs.create({ id, vm: 'web1', mode: 'offline', role: 'source', peer: 'b', phase: 'begin', options });
    jobs.end(id, 'completed');
    return id;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmhop-retention-'));
    db = openDb(join(dir, 'registry.sqlite'));
    clock = Date.parse('2026-01-01T00:00:00Z');
    jobs = new JobStore(db, () => new Date(clock));
  });
  afterEach(() => {
    vi.useRealTimers();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prunes a job once it has been ended longer than the retention, not a day before', () => {
    const id = ended();
    const o = { jobs, retentionDays: 30, log, now: () => clock };
    clock += 29 * DAY_MS;
    expect(pruneJobs(o)).toEqual([]);
    clock += 2 * DAY_MS;
    expect(pruneJobs(o)).toEqual([id]);
  });

  it('prunes at start and again each interval', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const first = ended();
    clock += 31 * DAY_MS;
    const second = ended();
    const stop = startJobRetention({ jobs, retentionDays: 30, log, now: () => clock, intervalMs: 60_000 });
    try {
      expect(jobs.list().map((j) => j.id)).toEqual([second]);
      clock += 31 * DAY_MS;
      vi.advanceTimersByTime(60_000);
      expect(jobs.list()).toEqual([]);
      expect(first).not.toBe(second);
    } finally {
      stop();
    }
  });
});
