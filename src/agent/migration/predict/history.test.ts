// What the prediction learns from earlier migrations in the registry (a real database): the
// link rate and the target's setup time of the newest completed live-shared migration to a peer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationOptions, type JobReport } from '../../../protocol/migration.js';
import { JobStore } from '../../db/job-store.js';
import { openDb, type Db } from '../../db/open.js';
import { historyLinkBps, historySetupMs, SETUP_MS } from './predict.js';

const MiB = 1024 * 1024;
let dir: string;
let db: Db;
let jobs: JobStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-predict-'));
  db = openDb(join(dir, 'registry.sqlite'));
  jobs = new JobStore(db);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function ended(
  peer: string,
  state: 'completed' | 'failed',
  report: Partial<JobReport>,
  mode = 'live-shared' as const,
) {
  const id = `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const options = MigrationOptions.parse(report.options ?? {});
  jobs.create({ id, vm: 'web1', mode, role: 'source', peer, phase: 'begin', options });
  jobs.end(id, state, { result: state, totalMs: 0, encrypted: true, notes: [], ...report, options });
}

describe('prediction history', () => {
  it('takes the newest completed live-shared migration to that peer', () => {
    ended('b', 'completed', { totalMs: 12_000, setupMs: 1_000, downtimeMs: 1_000, ramBytes: 100 * MiB });
    ended('b', 'completed', { totalMs: 7_000, setupMs: 2_000, downtimeMs: 0, ramBytes: 60 * MiB });
    ended('b', 'failed', { totalMs: 1_000, setupMs: 900, ramBytes: 1 * MiB });
    ended('c', 'completed', { totalMs: 2_000, setupMs: 100, ramBytes: 100 * MiB });
    expect(historyLinkBps({ jobs }, 'b')).toBeCloseTo((60 * MiB) / 5, 3);
    expect(historySetupMs({ jobs }, 'b')).toBe(2_000);
  });

  it('leaves out capped and post-copy runs for the link, and knows nothing of a new peer', () => {
    ended('b', 'completed', {
      totalMs: 5_000,
      ramBytes: 10 * MiB,
      options: MigrationOptions.parse({ bandwidthMiBs: 1 }),
    });
    ended('b', 'completed', {
      totalMs: 5_000,
      ramBytes: 10 * MiB,
      postcopy: { afterMs: 1, reason: 'x', recoveries: 0 },
    });
    expect(historyLinkBps({ jobs }, 'b')).toBeUndefined();
    expect(historyLinkBps({ jobs }, 'z')).toBeUndefined();
    expect(historySetupMs({ jobs }, 'z')).toBe(SETUP_MS);
  });
});
