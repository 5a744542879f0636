// Benchmark: one live migration of the same test guest over the same 100 Mbit/s test-bed
// link, (a) the reference article's way (monitor `migrate` to a target started with
// `-incoming tcp:...`, QEMU's defaults, no TLS) and (b) vmhop (`vmhop migrate --live`,
// TLS, pause-before-switchover, commit record). For both: total time, downtime, the gap a
// client saw, bytes sent, the ratio to the lower bound (non-zero RAM / link rate), and the
// guest's integrity check on the target (a broken move reads as broken, not as a figure).
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { buildArgv } from '../src/agent/vm/argv.js';
import { killAndWait } from '../src/agent/process/signals.js';
import type { JobInfo } from '../src/protocol/migration.js';
import { QmpSession, migrate, queryMigrate, type MigrationInfo } from '../src/qmp/index.js';
import * as testbed from '../src/testbed/testbed.js';
import { startGapProbe, waitForGuest } from '../src/testbed/client.js';
import { launchGuest, stopGuest } from '../src/testbed/guest.js';
import { testGuestSpec } from '../src/test-guest/spec.js';
import { checkGuestIntegrity, fileConsole, snapshotGuest } from '../src/testbed/integrity.js';
import { integrityFields, rowOf } from './integrity-row.js';
import { runOnHost } from '../src/testbed/host-exec.js';
import { REPO_ROOT } from '../src/repo/paths.js';

const LINK = { rate: '100mbit', bytesPerS: 100e6 / 8 };
const WORKLOAD = { memMiB: 32, memRateMiBs: 8 };
const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

interface Figures {
  totalS: number;
  downtimeMs: number | null;
  qemuDowntimeMs: number | null;
  clientGapMs: number;
  /** Where the client's longest gap ended relative to the target's resume (vmhop only). */
  gapEndedAfterResumeMs?: number | null;
  sentMiB: number;
  lowerBoundS: number;
  ratioToBound: number;
  guestIntact: boolean;
  integrity: string;
}

/** Bytes that must cross at least once: RAM that is not zero pages. */
const nonZeroBytes = (i: MigrationInfo) => (i.ram ? i.ram.total - i.ram.duplicate * i.ram['page-size'] : 0);

function figures(
  totalMs: number,
  info: MigrationInfo,
  gapMs: number,
  downtimeMs: number | null,
): Omit<Figures, 'guestIntact' | 'integrity'> {
  const lowerBoundS = nonZeroBytes(info) / LINK.bytesPerS;
  return {
    totalS: +(totalMs / 1000).toFixed(2),
    downtimeMs,
    qemuDowntimeMs: info.downtime ?? null,
    clientGapMs: gapMs,
    sentMiB: +((info.ram?.transferred ?? 0) / 1048576).toFixed(1),
    lowerBoundS: +lowerBoundS.toFixed(2),
    ratioToBound: +(totalMs / 1000 / lowerBoundS).toFixed(2),
  };
}

/** (a) The article's way: QEMU's own defaults, target with -incoming tcp:, monitor `migrate`. */
async function articleWay(): Promise<Figures> {
  const [a, b] = [await testbed.hostOf('a'), await testbed.hostOf('b')];
  const ip = '10.77.0.41';
  const src = await launchGuest(a, { name: 'bench-a', memoryMiB: 256, workload: { ip, ...WORKLOAD } });
  const spec = testGuestSpec({
    name: 'bench-a',
    memoryMiB: 256,
    workload: { ip, ...WORKLOAD },
    bridge: 'br0',
  });
  const runDir = '/run/vmhop/bench-target';
  await runOnHost(b, ['mkdir', '-p', runDir]);
  await runOnHost(b, ['ip', 'tuntap', 'add', 'dev', 'tap-bench', 'mode', 'tap']);
  await runOnHost(b, ['ip', 'link', 'set', 'tap-bench', 'master', 'br0', 'up']);
  const port = 4444;
  const argv = buildArgv(
    { ...spec, uuid: randomUUID() },
    { accel: 'tcg', diskPaths: {}, taps: ['tap-bench'], runDir },
  );
  const incoming = argv.filter((x) => x !== '-S');
  incoming.splice(incoming.indexOf('-pidfile'), 0, '-incoming', `tcp:${b.migrationAddress}:${port}`);
  await runOnHost(b, incoming);
  const targetPid = Number((await runOnHost(b, ['cat', `${runDir}/qemu.pid`])).stdout);
  try {
    if (!(await waitForGuest(ip, 60_000)).ok) throw new Error('guest did not come up');
    await new Promise((r) => setTimeout(r, 5_000));
    const qmp = await QmpSession.connect(src.qmpSocket);
    const before = await snapshotGuest(ip);
    const probe = startGapProbe(ip);
    const t0 = Date.now();
    await migrate(qmp, { uri: `tcp:${b.migrationAddress}:${port}` });
    let info: MigrationInfo;
    for (;;) {
      info = await queryMigrate(qmp);
      if (info.status === 'completed' || info.status === 'failed') break;
      if (Date.now() - t0 > 600_000) throw new Error('article-way migration did not finish in 10 min');
      await new Promise((r) => setTimeout(r, 100));
    }
    const totalMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 2_000));
    const gaps = await probe.stop();
    await qmp.close();
    if (info.status !== 'completed')
      throw new Error(`article-way migration ${info.status}: ${info['error-desc']}`);
    const integrity = await checkGuestIntegrity({
      ip,
      before,
      console: fileConsole(`${b.backingRun}/bench-target/serial.log`),
      switchoverAt: t0 + totalMs,
    });
    return { ...figures(totalMs, info, gaps.maxGapMs, null), ...integrityFields(integrity) };
  } finally {
    await stopGuest(src);
    await killAndWait(targetPid);
    await runOnHost(b, ['ip', 'link', 'del', 'tap-bench'], { allowFail: true });
  }
}

/** (b) vmhop: `vmhop migrate --live` (TLS, pause-before-switchover, commit on the target). */
async function vmhopWay(): Promise<Figures> {
  const ip = '10.77.0.42';
  const cli = (args: string[]) => execa(process.execPath, [CLI, '--json', ...args]);
  await cli([
    '-c',
    'a',
    'create',
    'bench-v',
    '--test-guest',
    '--start',
    '--ip',
    ip,
    '--mem-dirty',
    String(WORKLOAD.memMiB),
  ]);
  try {
    if (!(await waitForGuest(ip, 60_000)).ok) throw new Error('guest did not come up');
    await new Promise((r) => setTimeout(r, 5_000));
    const before = await snapshotGuest(ip);
    const probe = startGapProbe(ip);
    const t0 = Date.now();
    const r = await execa(
      process.execPath,
      [CLI, '--json', '-c', 'a', 'migrate', 'bench-v', '--to', 'b', '--live'],
      { reject: false },
    );
    const totalMs = Date.now() - t0;
    await new Promise((res) => setTimeout(res, 2_000));
    const gaps = await probe.stop();
    const job = JSON.parse(r.stdout) as JobInfo & { error?: unknown };
    if (job.state !== 'completed') throw new Error(`vmhop migration failed: ${r.stdout}`);
    // vmhop's report has what query-migrate had; rebuild the figures from it.
    const rep = job.report!;
    const integrity = await checkGuestIntegrity({
      ip,
      before,
      targetHost: 'b',
      vm: 'bench-v',
      switchoverAt: rep.resumedAt ?? Date.now(),
    });
    const lowerBoundS = (rep.ramNonZeroBytes ?? 0) / LINK.bytesPerS;
    return {
      totalS: +(totalMs / 1000).toFixed(2),
      downtimeMs: rep.downtimeMs ?? null,
      qemuDowntimeMs: rep.qemuDowntimeMs ?? null,
      clientGapMs: gaps.maxGapMs,
      gapEndedAfterResumeMs: rep.resumedAt ? gaps.gapEndedAt - rep.resumedAt : null,
      sentMiB: +((rep.ramBytes ?? 0) / 1048576).toFixed(1),
      lowerBoundS: +lowerBoundS.toFixed(2),
      ratioToBound: +(totalMs / 1000 / lowerBoundS).toFixed(2),
      ...integrityFields(integrity),
    };
  } finally {
    await cli(['-c', 'b', 'destroy', 'bench-v']).catch(() => undefined);
    await cli(['-c', 'b', 'undefine', 'bench-v']).catch(() => undefined);
    await cli(['-c', 'a', 'destroy', 'bench-v']).catch(() => undefined);
    await cli(['-c', 'a', 'undefine', 'bench-v']).catch(() => undefined);
  }
}

export async function benchLiveMigration(): Promise<Record<string, unknown>> {
  await testbed.down();
  await testbed.up({ hosts: ['a', 'b'], shaping: { rate: LINK.rate } });
  try {
    const article = await rowOf(articleWay);
    const vmhop = await rowOf(vmhopWay);
    return { link: LINK.rate, guest: { memoryMiB: 256, ...WORKLOAD }, articleWay: article, vmhop };
  } finally {
    await testbed.down();
  }
}
