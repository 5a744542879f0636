// Live migration the reference article's way: the target QEMU started by hand with
// `-incoming tcp:...`, the monitor's `migrate` on the source, QEMU's defaults, no TLS. The
// reference every other peer is held against (same guest, same link, same QEMU binary).
import { randomUUID } from 'node:crypto';
import { buildArgv } from '../src/agent/vm/argv.js';
import { killAndWait } from '../src/agent/process/signals.js';
import { QmpSession, migrate, migrateCancel, queryMigrate, type MigrationInfo } from '../src/qmp/index.js';
import * as testbed from '../src/testbed/testbed.js';
import { startGapProbe, waitForGuest } from '../src/testbed/client.js';
import { launchGuest, stopGuest } from '../src/testbed/guest.js';
import { testGuestSpec } from '../src/test-guest/spec.js';
import { checkGuestIntegrity, fileConsole, snapshotGuest } from '../src/testbed/integrity.js';
import { runOnHost } from '../src/testbed/host-exec.js';
import { integrityFields } from './integrity-row.js';
import { watchPause } from './pause-watch.js';
import {
  MIB,
  bound,
  countWire,
  nonZeroBytes,
  notFinished,
  round,
  sleep,
  type LiveCase,
  type LiveFigures,
} from './figures.js';

const PORT = 4444;

/** The target QEMU on b, paused in `-incoming tcp:` with the same spec as the source. */
async function startTarget(c: LiveCase, ip: string) {
  const b = await testbed.hostOf('b');
  const spec = testGuestSpec({
    name: 'bench-a',
    memoryMiB: c.memoryMiB,
    workload: workloadOf(c, ip),
    bridge: 'br0',
  });
  const runDir = '/run/vmhop/bench-target';
  await runOnHost(b, ['rm', '-rf', runDir]);
  await runOnHost(b, ['mkdir', '-p', runDir]);
  await runOnHost(b, ['ip', 'tuntap', 'add', 'dev', 'tap-bench', 'mode', 'tap']);
  await runOnHost(b, ['ip', 'link', 'set', 'tap-bench', 'master', 'br0', 'up']);
  const argv = buildArgv(
    { ...spec, uuid: randomUUID() },
    { accel: 'tcg', diskPaths: {}, taps: ['tap-bench'], runDir },
  );
  const incoming = argv.filter((x) => x !== '-S');
  incoming.splice(incoming.indexOf('-pidfile'), 0, '-incoming', `tcp:${b.migrationAddress}:${PORT}`);
  await runOnHost(b, incoming);
  const pid = Number((await runOnHost(b, ['cat', `${runDir}/qemu.pid`])).stdout);
  return {
    uri: `tcp:${b.migrationAddress}:${PORT}`,
    qmpSocket: `${b.backingRun}/bench-target/qmp.sock`,
    serialLog: `${b.backingRun}/bench-target/serial.log`,
    stop: async () => {
      await killAndWait(pid);
      await runOnHost(b, ['ip', 'link', 'del', 'tap-bench'], { allowFail: true });
    },
  };
}

export const workloadOf = (c: LiveCase, ip: string) => ({
  ip,
  ...(c.memMiB ? { memMiB: c.memMiB, memRateMiBs: c.memRateMiBs ?? 8 } : {}),
});

async function waitDone(qmp: QmpSession, t0: number, capMs: number): Promise<MigrationInfo | undefined> {
  for (;;) {
    const info = await queryMigrate(qmp);
    if (info.status === 'completed' || info.status === 'failed') return info;
    if (Date.now() - t0 > capMs) return undefined;
    await sleep(50);
  }
}

export async function rawLive(c: LiveCase, ip = '10.77.0.41'): Promise<LiveFigures> {
  if (c.diskDataBytes) throw new Error('QEMU 10 has no `migrate -b`: the article way cannot copy storage');
  const a = await testbed.hostOf('a');
  const src = await launchGuest(a, { name: 'bench-a', memoryMiB: c.memoryMiB, workload: workloadOf(c, ip) });
  const dst = await startTarget(c, ip).catch(async (e: unknown) => {
    await stopGuest(src);
    throw e;
  });
  try {
    if (!(await waitForGuest(ip, 60_000)).ok) throw new Error('guest did not come up');
    await sleep(5_000);
    const qmp = await QmpSession.connect(src.qmpSocket);
    const before = await snapshotGuest(ip);
    const pause = await watchPause(qmp, dst.qmpSocket);
    const probe = startGapProbe(ip);
    const wire = await countWire();
    const t0 = Date.now();
    await migrate(qmp, { uri: dst.uri });
    const info = await waitDone(qmp, t0, c.capMs);
    const totalMs = Date.now() - t0;
    const wireMiB = await wire.done();
    if (!info) {
      const sent = (await queryMigrate(qmp)).ram?.transferred ?? null;
      await migrateCancel(qmp);
      await Promise.all([pause.stop(), probe.stop(), qmp.close()]);
      return notFinished(totalMs, sent, `cancelled at the ${c.capMs / 1000} s cap`, wireMiB);
    }
    await sleep(2_000);
    const gaps = await probe.stop();
    const real = await pause.stop();
    await qmp.close();
    if (info.status !== 'completed')
      throw new Error(`article-way migration ${info.status}: ${info['error-desc']}`);
    const integrity = await checkGuestIntegrity({
      ip,
      before,
      console: fileConsole(dst.serialLog),
      switchoverAt: real.resumedAt ?? t0 + totalMs,
    });
    return {
      finished: true,
      totalS: round(totalMs / 1000),
      ...bound(totalMs, nonZeroBytes(info)),
      realPauseMs: real.realPauseMs,
      downtimeMs: info.downtime ?? null,
      qemuDowntimeMs: info.downtime ?? null,
      clientGapMs: gaps.maxGapMs,
      wireMiB,
      sentMiB: round((info.ram?.transferred ?? 0) / MIB, 1),
      ...integrityFields(integrity),
      ...(real.why ? { notes: [`real pause: ${real.why}`] } : {}),
    };
  } finally {
    await stopGuest(src);
    await dst.stop();
  }
}
