// The oracle after a move, done or failed: VM `vm` runs on `host`, the other host has nothing of
// it (or its definition marked moved, once its retirement in the background is over), and
// neither host has a job still running.
import { expect } from 'vitest';
import type { JobInfo } from '../../../src/protocol/migration.js';
import { vmhopOk, vmStates } from './cli.js';
import { waitFor } from './wait-for.js';

export async function expectRunsOnlyOn(vm: string, host: 'a' | 'b'): Promise<void> {
  const other = host === 'a' ? 'b' : 'a';
  const retired = async () => {
    const s = (await vmStates(vm))[other];
    return s === undefined || s === 'moved';
  };
  await waitFor(retired, 15_000).catch(() => undefined);
  const w = await vmStates(vm);
  expect(w[host]).toBe('running');
  expect(w[other] === undefined || w[other] === 'moved').toBe(true);
  for (const h of ['a', 'b']) {
    const jobs = (await vmhopOk<{ jobs: JobInfo[] }>(['-c', h, 'job', 'list'])).jobs;
    expect(jobs.filter((j) => j.state === 'running')).toEqual([]);
  }
}
