// Live migration with vmhop: `vmhop migrate --live` (TLS, pause-before-switchover, commit on the
// target), optionally `--copy-storage all` (NBD + blockdev-mirror). The guest is the same spec
// the other peers run (made with `vmhop create --spec`); the real pause comes from QEMU's
// events on the observer monitors the test bed's agents give every QEMU.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { JobInfo } from '../src/protocol/migration.js';
import * as testbed from '../src/testbed/testbed.js';
import { startGapProbe, waitForGuest } from '../src/testbed/client.js';
import { testGuestSpec } from '../src/test-guest/spec.js';
import { checkGuestIntegrity, snapshotGuest } from '../src/testbed/integrity.js';
import { REPO_ROOT } from '../src/repo/paths.js';
import { integrityFields } from './integrity-row.js';
import { watchPause } from './pause-watch.js';
import { workloadOf } from './live-raw.js';
import {
  MIB,
  bound,
  countWire,
  notFinished,
  round,
  sleep,
  type LiveCase,
  type LiveFigures,
} from './figures.js';

const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const cli = (args: string[], timeoutMs = 60_000) =>
  execa(process.execPath, [CLI, '--json', ...args], { reject: false, timeout: timeoutMs });

/** Defines and starts the guest on a: the same spec as the other peers', with its disk when asked. */
async function createGuest(c: LiveCase, vm: string, ip: string) {
  const a = await testbed.hostOf('a');
  if (c.diskDataBytes) {
    await cli([
      '-c',
      'a',
      'create',
      vm,
      '--test-guest',
      '--ip',
      ip,
      '--disk',
      '1G',
      '--memory',
      String(c.memoryMiB),
    ]);
    await execa('qemu-io', [
      '-f',
      'qcow2',
      '-c',
      `write -P 0xab 0 ${c.diskDataBytes}`,
      `${a.backingData}/pools/default/${vm}-vda.qcow2`,
    ]);
  } else {
    const file = `/tmp/vmhop-bench-${vm}.json`;
    const spec = testGuestSpec({
      name: vm,
      memoryMiB: c.memoryMiB,
      workload: workloadOf(c, ip),
      bridge: 'br0',
    });
    writeFileSync(file, JSON.stringify(spec));
    const r = await cli(['-c', 'a', 'create', vm, '--spec', file]);
    if (r.exitCode !== 0) throw new Error(`vmhop create failed: ${r.stdout} ${r.stderr}`);
  }
  const r = await cli(['-c', 'a', 'start', vm]);
  if (r.exitCode !== 0) throw new Error(`vmhop start failed: ${r.stdout} ${r.stderr}`);
}

async function removeGuest(vm: string) {
  for (const h of ['b', 'a']) {
    await cli(['-c', h, 'destroy', vm]);
    await cli(['-c', h, 'undefine', vm]);
    await cli(['-c', h, 'vol-delete', `default/${vm}-vda.qcow2`]);
  }
}

/** Runs the CLI's migrate; at the cap, asks the source agent to abort the job and waits for the CLI. */
async function migrateCapped(vm: string, args: string[], capMs: number) {
  let capped = false;
  const run = cli(['-c', 'a', 'migrate', vm, '--to', 'b', ...args], capMs + 120_000);
  const timer = setTimeout(() => {
    capped = true;
    void cli(['-c', 'a', 'domjobabort', vm]);
  }, capMs);
  const r = await run;
  clearTimeout(timer);
  return { r, capped };
}

/** With VMHOP_BENCH_LOGS=DIR, both agents' logs after each move, to see where its time went. */
function keepAgentLogs(scenario: string, hosts: { name: string; backingRun: string }[]) {
  const dir = process.env.VMHOP_BENCH_LOGS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const at = new Date().toISOString().replace(/[:.]/g, '-');
  for (const h of hosts)
    copyFileSync(`${h.backingRun}/agent.log`, join(dir, `${scenario}-${at}-${h.name}.log`));
}

export async function vmhopLive(c: LiveCase, ip = '10.77.0.42'): Promise<LiveFigures> {
  const vm = 'bench-v';
  const [a, b] = [await testbed.hostOf('a'), await testbed.hostOf('b')];
  await removeGuest(vm);
  try {
    await createGuest(c, vm, ip);
    if (!(await waitForGuest(ip, 60_000)).ok) throw new Error('guest did not come up');
    await sleep(5_000);
    const before = await snapshotGuest(ip);
    const pause = await watchPause(
      `${a.backingRun}/vms/${vm}/observer.sock`,
      `${b.backingRun}/vms/${vm}/observer.sock`,
    );
    const probe = startGapProbe(ip);
    const wire = await countWire();
    const t0 = Date.now();
    const args = ['--live', ...(c.diskDataBytes ? ['--copy-storage', 'all'] : [])];
    const { r, capped } = await migrateCapped(vm, args, c.capMs);
    const totalMs = Date.now() - t0;
    const wireMiB = await wire.done();
    await sleep(2_000);
    const gaps = await probe.stop();
    const real = await pause.stop();
    const job = JSON.parse(r.stdout || '{}') as JobInfo;
    keepAgentLogs(c.name, [a, b]);
    const rep = job.report;
    if (job.state !== 'completed') {
      if (capped)
        return notFinished(
          totalMs,
          rep?.ramBytes ?? null,
          `job ${job.state} after domjobabort at the ${c.capMs / 1000} s cap`,
          wireMiB,
        );
      throw new Error(
        `vmhop migration ${job.state ?? 'failed'}: ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 500)}`,
      );
    }
    const integrity = await checkGuestIntegrity({
      ip,
      before,
      targetHost: 'b',
      vm,
      switchoverAt: real.resumedAt ?? rep?.resumedAt ?? Date.now(),
    });
    const diskBytes = Object.values(rep?.diskBytes ?? {}).reduce((s, v) => s + v, 0);
    return {
      finished: true,
      totalS: round(totalMs / 1000),
      ...bound(totalMs, (rep?.ramNonZeroBytes ?? 0) + (c.diskDataBytes ?? 0)),
      realPauseMs: real.realPauseMs,
      downtimeMs: rep?.downtimeMs ?? null,
      qemuDowntimeMs: rep?.qemuDowntimeMs ?? null,
      clientGapMs: gaps.maxGapMs,
      wireMiB,
      sentMiB: round(((rep?.ramBytes ?? 0) + diskBytes) / MIB, 1),
      ...integrityFields(integrity),
      notes: [...(rep?.notes ?? []), ...(real.why ? [`real pause: ${real.why}`] : [])],
    };
  } finally {
    await removeGuest(vm);
  }
}
