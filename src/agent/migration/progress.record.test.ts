// Records the query-migrate samples behind the progress golden files: real QEMU 7.2 migrations
// over a unix socket, capped at 8 MiB/s, of the test guest with its memory dirtier running, polled
// every 250 ms (1 s for the long ones). Only runs with VMHOP_RECORD_PROGRESS=1, or =NAME,NAME for
// some scenarios (it rewrites test/fixtures/migration-progress/NAME.samples.json).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, it } from 'vitest';
import {
  migrate,
  migrateCancel,
  migrateContinue,
  migrateIncoming,
  migrateSetCapabilities,
  migrateSetParameters,
  migrateStartPostcopy,
  queryMigrate,
  type MigrationCapabilityStatus,
  type MigrationInfo,
  type QmpSession,
} from '../../qmp/index.js';
import { qemuAvailable, qemuVersionText } from '../../qmp/testing/test-qemu.js';
import { TestQemuPool } from '../../qmp/testing/test-qemu-pool.js';
import type { Sample } from './progress.js';

const root = join(import.meta.dirname, '../../..');
const guest = join(root, '.cache/guest/current');
const fixtures = join(root, 'test/fixtures/migration-progress');
const wanted = process.env['VMHOP_RECORD_PROGRESS'] ?? '';
const recording = wanted !== '' && qemuAvailable() && existsSync(guest);
const MiB = 1024 * 1024;

const pool = new TestQemuPool();

interface Scenario {
  name: string;
  description: string;
  /** Guest dirtier: MiB of memory rewritten at MiB/s. */
  mem: { mib: number; rate: number };
  autoConverge?: boolean;
  sampleEveryMs: number;
  /** Allow post-copy and switch to it when this RAM pass (dirty-sync-count) begins. */
  postcopyAtPass?: number;
  /** Stop recording (and cancel) after this long, ms, unless the migration ended first. */
  maxMs: number;
  /** SIGSTOP the target QEMU at this time, ms: the link looks alive but nothing moves. */
  freezeTargetAtMs?: number;
}

function guestArgs(scenario: Scenario, serial: string): string[] {
  const append = `console=ttyS0 quiet vmhop.ip=none vmhop.mem=${scenario.mem.mib} vmhop.memrate=${scenario.mem.rate}`;
  return [
    ...['-m', '128', '-kernel', join(guest, 'vmlinux'), '-initrd', join(guest, 'initrd.img')],
    ...['-append', append, '-serial', `file:${serial}`],
  ];
}

async function waitForSerial(path: string, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(path) && readFileSync(path, 'utf8').includes(text))) {
    if (Date.now() > deadline) throw new Error(`no "${text}" in ${path} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function record(scenario: Scenario): Promise<void> {
  const serial = join(pool.dir, `${scenario.name}.serial`);
  const sourceQemu = pool.start({ name: `${scenario.name}-s`, extraArgs: guestArgs(scenario, serial) });
  const targetQemu = pool.start({
    name: `${scenario.name}-t`,
    paused: true,
    incomingDefer: true,
    extraArgs: guestArgs(scenario, `${serial}.target`),
  });
  const source = await pool.connect(sourceQemu);
  const target = await pool.connect(targetQemu);
  await waitForSerial(serial, 'mem autostart', 60_000);
  const caps: MigrationCapabilityStatus[] = [
    { capability: 'events', state: true },
    { capability: 'pause-before-switchover', state: true },
    { capability: 'auto-converge', state: scenario.autoConverge ?? false },
    { capability: 'postcopy-ram', state: scenario.postcopyAtPass !== undefined },
  ];
  await migrateSetCapabilities(source, { capabilities: caps });
  await migrateSetCapabilities(target, {
    capabilities: [
      { capability: 'events', state: true },
      { capability: 'postcopy-ram', state: scenario.postcopyAtPass !== undefined },
    ],
  });
  await migrateSetParameters(source, {
    'max-bandwidth': 8 * MiB,
    'max-postcopy-bandwidth': 8 * MiB,
    'downtime-limit': 300,
  });
  const uri = `unix:${pool.dir}/${scenario.name}.sock`;
  await migrateIncoming(target, { uri });

  const t0 = Date.now();
  await migrate(source, { uri });
  const samples = await sample(source, scenario, t0, () => targetQemu.child.kill('SIGSTOP'));
  const head = {
    description: scenario.description,
    qemu: qemuVersionText(),
    sampleEveryMs: scenario.sampleEveryMs,
  };
  writeFileSync(join(fixtures, `${scenario.name}.samples.json`), samplesFile(head, samples));
}

/** One sample per line: a diff shows which samples changed, and the file stays readable. */
function samplesFile(head: Record<string, unknown>, samples: Sample[]): string {
  const body = samples.map((s) => `  ${JSON.stringify(s)}`).join(',\n');
  return `${JSON.stringify(head).slice(0, -1)},"samples":[\n${body}\n]}\n`;
}

async function sample(source: QmpSession, plan: Scenario, t0: number, freeze: () => void): Promise<Sample[]> {
  const samples: Sample[] = [];
  let scenario = plan;
  let frozen = false;
  for (;;) {
    const at = Date.now() - t0;
    const info: MigrationInfo = await queryMigrate(source);
    samples.push({ at, info });
    if (info.status === 'completed' || info.status === 'failed' || info.status === 'cancelled')
      return samples;
    if (info.status === 'pre-switchover') await migrateContinue(source, { state: 'pre-switchover' });
    const pass = info.ram?.['dirty-sync-count'] ?? 0;
    if (
      scenario.postcopyAtPass !== undefined &&
      pass >= scenario.postcopyAtPass &&
      info.status === 'active'
    ) {
      await migrateStartPostcopy(source);
      scenario = { ...scenario, postcopyAtPass: undefined };
    }
    if (!frozen && scenario.freezeTargetAtMs !== undefined && at >= scenario.freezeTargetAtMs) {
      freeze();
      frozen = true;
    }
    if (at > scenario.maxMs && info.status !== 'cancelling') await migrateCancel(source);
    await sleep(scenario.sampleEveryMs);
  }
}

describe.skipIf(!recording)('recording query-migrate samples from QEMU 7.2', () => {
  afterEach(() => pool.stopAll());
  afterAll(() => pool.dispose());

  const scenarios: Scenario[] = [
    {
      name: 'converging',
      description:
        '128 MiB guest dirtying 32 MiB at 2 MiB/s, link capped at 8 MiB/s: a few passes, then switchover',
      mem: { mib: 32, rate: 2 },
      sampleEveryMs: 250,
      maxMs: 60_000,
    },
    {
      name: 'not-converging',
      description:
        '128 MiB guest dirtying 32 MiB at 16 MiB/s, link capped at 8 MiB/s: never converges, cancelled',
      mem: { mib: 32, rate: 16 },
      sampleEveryMs: 250,
      maxMs: 20_000,
    },
    {
      name: 'auto-converge',
      description:
        'as not-converging, with auto-converge: QEMU throttles the vCPU step by step to 99% and, under TCG, ' +
        'the passes still do not converge; cancelled',
      mem: { mib: 32, rate: 16 },
      autoConverge: true,
      sampleEveryMs: 1000,
      maxMs: 90_000,
    },
    {
      name: 'postcopy',
      description:
        'as not-converging, switched to post-copy when pass 3 begins (after a stop at pre-switchover); ' +
        'the target was started with -S, so it stays paused and requests no pages',
      mem: { mib: 32, rate: 16 },
      postcopyAtPass: 3,
      sampleEveryMs: 250,
      maxMs: 60_000,
    },
    {
      name: 'stalled',
      description:
        'as converging, but the target QEMU is frozen (SIGSTOP) after 4 s: nothing moves, then cancelled',
      mem: { mib: 32, rate: 2 },
      sampleEveryMs: 250,
      freezeTargetAtMs: 4_000,
      maxMs: 9_000,
    },
  ];
  const chosen = scenarios.filter((s) => wanted === '1' || wanted.split(',').includes(s.name));
  it.each(chosen)('records $name', (scenario) => record(scenario), 180_000);
});
