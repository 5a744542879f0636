// The prediction on the test bed (issue 15 §1), through the CLI, over a 100 Mbit/s migration link:
// `migrate --dry-run` prints it (measured dirty rate, sampled non-zero RAM, the probed link, one row
// per way) and a real migration's report keeps it beside the outcome. Each move is logged as
// predicted vs actual (total, pause, bytes); the guest must arrive intact and run on one host only.
import { execa } from 'execa';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as testbed from '../../src/testbed/testbed.js';
import { guestCommand, waitForGuest } from '../../src/testbed/client.js';
import { snapshotGuest } from '../../src/testbed/integrity.js';
import { REPO_ROOT } from '../../src/repo/paths.js';
import type { HostPlan } from '../../src/testbed/plan.js';
import type { JobInfo } from '../../src/protocol/migration.js';
import type { Prediction } from '../../src/protocol/prediction.js';
import { expectIntactOn } from './helpers/intact-on.js';
import { removeVmEverywhere, vmhopOk, vmStates } from './helpers/cli.js';
import { startSampler } from './helpers/run-sampler.js';

const VM = 'pr1';
const IP = '10.77.0.36';
const MiB = 1024 * 1024;
/** 100 Mbit/s in bytes/s. */
const LINK_BPS = 12.5e6;
let hosts: HostPlan[];

async function dirty(mib: number, rate: number) {
  const r = (await guestCommand(IP, `mem-start ${mib} ${rate}`)) as { ok: boolean };
  expect(r.ok).toBe(true);
}

async function migrateMeasured(from: string, to: string, label: string) {
  const before = await snapshotGuest(IP);
  const sampler = startSampler(hosts, VM);
  const job = await vmhopOk<JobInfo>(['-c', from, 'migrate', VM, '--to', to, '--live'], 180_000);
  expect((await sampler.stop()).bothRunning).toBe(0);
  const r = job.report!;
  const p = r.prediction!;
  const w = p.ways.find((x) => x.way === p.configured)!;
  console.log(
    `${label}: predicted ${w.way} total ${w.totalS?.toFixed(1)} s pause ${w.pauseMs?.toFixed(0)} ms ${(w.bytes / MiB).toFixed(0)} MiB; ` +
      `actual total ${(r.totalMs / 1000).toFixed(1)} s pause ${r.downtimeMs} ms ${((r.ramBytes ?? 0) / MiB).toFixed(0)} MiB ` +
      `(non-zero RAM predicted ${(p.inputs.nonZeroBytes / MiB).toFixed(0)} MiB, first pass ${((r.ramNonZeroBytes ?? 0) / MiB).toFixed(0)} MiB; ` +
      `dirty ${(p.inputs.dirtyRateBps / MiB).toFixed(1)} MiB/s, link ${(p.inputs.linkBps / MiB).toFixed(1)} MiB/s ${p.inputs.linkSource}; ` +
      `postcopy ${JSON.stringify(r.postcopy ?? null)}; measured in ${p.measuredMs} ms)`,
  );
  return { job, before };
}

const DRY_RUN = ['-c', 'a', 'migrate', VM, '--to', 'b', '--live', '--dry-run'];
const dryRun = () => vmhopOk<{ prediction: Prediction }>(DRY_RUN);

beforeAll(async () => {
  hosts = [await testbed.hostOf('a'), await testbed.hostOf('b')];
  await testbed.shape({ rate: '100mbit' });
  await vmhopOk([
    ...['-c', 'a', 'create', VM, '--test-guest', '--start', '--ip', IP, '--memory', '256'],
    ...['--pool', 'shared', '--disk', '64M', '--disk-writer', '--mem-dirty', '8'],
  ]);
  expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
});

afterAll(async () => {
  await testbed.shape({});
  await removeVmEverywhere(VM, [{ host: 'a', volume: `shared/${VM}-vda.qcow2` }]);
});

describe('prediction before a live migration', () => {
  it('--dry-run prints the prediction per way with the configured one, from measured figures', async () => {
    await dirty(8, 1);
    const cli = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
    const human = await execa(process.execPath, [cli, ...DRY_RUN], {
      timeout: 60_000,
    });
    console.log(human.stdout);
    expect(human.stdout).toMatch(/^Prediction \(measured in /m);
    for (const way of ['precopy', 'precopy-compressed', 'precopy-throttled', 'postcopy-after-precopy'])
      expect(human.stdout).toMatch(new RegExp(`^ [ *] ${way} `, 'm'));
    expect(human.stdout).toMatch(/the way this migration's options lead to: /);

    const r = await dryRun();
    const i = r.prediction.inputs;
    // The probe crossed the shaped link: near 100 Mbit/s, not the unshaped management network.
    expect(i.linkSource).toBe('measured');
    expect(i.linkBps).toBeGreaterThan(0.6 * LINK_BPS);
    expect(i.linkBps).toBeLessThan(1.3 * LINK_BPS);
    expect(i.dirtyRateBps / MiB).toBeLessThan(4);
    expect(i.nonZeroSource).toBe('sampled');
    expect(r.prediction.ways.find((w) => w.way === 'precopy')?.converges).toBe(true);
    expect((await vmStates(VM)).a).toBe('running');
  });

  it('measures the dirtier: a rate near what it writes, beyond the link it cannot converge in plain pre-copy', async () => {
    await dirty(64, 24);
    const r = await dryRun();
    const i = r.prediction.inputs;
    expect(i.dirtyRateBps / MiB).toBeGreaterThan(12);
    expect(i.dirtyRateBps / MiB).toBeLessThan(48);
    expect(r.prediction.ways.find((w) => w.way === 'precopy')?.converges).toBe(false);
    expect(r.prediction.ways.find((w) => w.way === 'postcopy-after-precopy')?.converges).toBe(true);
  });

  it("keeps the prediction in a real migration's report, beside the outcome (a nearly idle guest)", async () => {
    await dirty(8, 1);
    const { job, before } = await migrateMeasured('a', 'b', 'nearly idle (8 MiB at 1 MiB/s)');
    expect(job.state).toBe('completed');
    const r = job.report!;
    expect(r.prediction?.ways).toHaveLength(4);
    expect(r.prediction?.inputs.linkSource).toBe('measured');
    expect([r.totalMs, r.downtimeMs, r.ramBytes].every((x) => typeof x === 'number')).toBe(true);
    await expectIntactOn({ ip: IP, vm: VM }, 'b', before, r.resumedAt);
  });

  it('keeps it for a guest dirtying below the link rate', async () => {
    await dirty(32, 6);
    const { job, before } = await migrateMeasured('b', 'a', 'below the link (32 MiB at 6 MiB/s)');
    expect(job.state).toBe('completed');
    expect(job.report?.prediction?.ways).toHaveLength(4);
    await expectIntactOn({ ip: IP, vm: VM }, 'a', before, job.report?.resumedAt);
  });

  it('keeps it for a guest dirtying twice the link rate, which the default policy still moves', async () => {
    await dirty(64, 24);
    const { job, before } = await migrateMeasured('a', 'b', 'above the link (64 MiB at 24 MiB/s)');
    expect(job.state).toBe('completed');
    expect(job.report?.prediction?.configured).toBe('postcopy-after-precopy');
    await expectIntactOn({ ip: IP, vm: VM }, 'b', before, job.report?.resumedAt);
  });
});
