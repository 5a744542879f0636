// Benchmark: block migration of the same test guest (1 GiB qcow2 disk holding 100 MiB,
// 256 MiB RAM) over the same 100 Mbit/s test-bed link, (a) the reference article's way
// on QEMU 7.2 (`migrate` with the deprecated `block` capability to a target started with
// `-incoming tcp:` on an empty image) and (b) vmhop (`migrate --live --copy-storage all`:
// NBD + blockdev-mirror, TLS). Prints total time, downtime, the ratio to the lower bound
// (used disk + non-zero RAM) / link rate, and the guest's integrity check on the target (a
// broken move reads as broken, not as a figure).
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import { buildArgv } from '../src/agent/vm/argv.js';
import { killAndWait } from '../src/agent/process/signals.js';
import {
  QmpSession,
  migrate,
  migrateSetCapabilities,
  queryMigrate,
  type MigrationInfo,
} from '../src/qmp/index.js';
import * as testbed from '../src/testbed/testbed.js';
import { waitForGuest } from '../src/testbed/client.js';
import { testGuestSpec } from '../src/test-guest/spec.js';
import { checkGuestIntegrity, fileConsole, snapshotGuest } from '../src/testbed/integrity.js';
import { integrityFields, rowOf } from './integrity-row.js';
import type { HostPlan } from '../src/testbed/plan.js';
import { runOnHost } from '../src/testbed/host-exec.js';
import { vmhopLive } from './live-vmhop.js';

const LINK = { rate: '100mbit', bytesPerS: 100e6 / 8 };
const DISK_DATA = 100 * 1048576;

async function makeDisk(path: string) {
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1G']);
  await execa('qemu-io', ['-f', 'qcow2', '-c', `write -P 0xab 0 ${DISK_DATA}`, path]);
}

/**
 * The article's QEMU used -drive: old block migration finds disks by their BlockBackend
 * name, which -blockdev + -device leaves anonymous (the target then resets the stream).
 */
function withLegacyDrive(argv: string[], path: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1] ?? '';
    if (a === '-blockdev' || (a === '-device' && next.startsWith('virtio-blk-pci'))) {
      i++;
      continue;
    }
    out.push(a);
  }
  out.splice(
    out.indexOf('-pidfile'),
    0,
    '-drive',
    `file=${path},if=virtio,format=qcow2,cache=none,id=drive-vda`,
  );
  return out;
}

async function startQemu(host: HostPlan, name: string, ip: string, disk: string, extra: string[]) {
  const runDir = `/run/vmhop/${name}`;
  const tap = `tap-${name}`.slice(0, 15);
  await runOnHost(host, ['mkdir', '-p', runDir]);
  await runOnHost(host, ['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  await runOnHost(host, ['ip', 'link', 'set', tap, 'master', 'br0', 'up']);
  const spec = testGuestSpec({ name, memoryMiB: 256, workload: { ip }, bridge: 'br0', uuid: randomUUID() });
  const argv = withLegacyDrive(buildArgv(spec, { accel: 'tcg', diskPaths: {}, taps: [tap], runDir }), disk);
  argv.splice(argv.indexOf('-pidfile'), 0, ...extra);
  await runOnHost(host, argv);
  const pid = Number((await runOnHost(host, ['cat', `${runDir}/qemu.pid`])).stdout);
  return {
    pid,
    qmp: `${host.backingRun}/${name}/qmp.sock`,
    serialLog: `${host.backingRun}/${name}/serial.log`,
    stop: async () => {
      await killAndWait(pid);
      await runOnHost(host, ['ip', 'link', 'del', tap], { allowFail: true });
    },
  };
}

/** (a) QEMU 7.2's deprecated `migrate -b` to an -incoming target, QEMU's defaults otherwise. */
async function articleWay() {
  const [a, b] = [await testbed.hostOf('a'), await testbed.hostOf('b')];
  const ip = '10.77.0.51';
  await makeDisk(`${a.backingData}/bench-src.qcow2`);
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', `${b.backingData}/bench-dst.qcow2`, '1G']);
  const src = await startQemu(a, 'benchsrc', ip, '/var/lib/vmhop/bench-src.qcow2', []);
  const dst = await startQemu(b, 'benchdst', ip, '/var/lib/vmhop/bench-dst.qcow2', [
    '-incoming',
    `tcp:${b.migrationAddress}:4445`,
  ]);
  try {
    if (!(await waitForGuest(ip, 60_000)).ok) throw new Error('guest did not come up');
    const qmp = await QmpSession.connect(src.qmp);
    await migrateSetCapabilities(qmp, { capabilities: [{ capability: 'block', state: true }] });
    const before = await snapshotGuest(ip);
    const t0 = Date.now();
    await migrate(qmp, { uri: `tcp:${b.migrationAddress}:4445` });
    let info: MigrationInfo;
    for (;;) {
      info = await queryMigrate(qmp);
      if (info.status === 'completed' || info.status === 'failed') break;
      if (Date.now() - t0 > 900_000) throw new Error('migrate -b did not finish in 15 min');
      await new Promise((r) => setTimeout(r, 200));
    }
    const totalMs = Date.now() - t0;
    await qmp.close();
    if (info.status !== 'completed') throw new Error(`migrate -b ${info.status}: ${info['error-desc']}`);
    const integrity = await checkGuestIntegrity({
      ip,
      before,
      console: fileConsole(dst.serialLog),
      switchoverAt: t0 + totalMs,
    });
    const nonZeroRam = info.ram ? info.ram.total - info.ram.duplicate * info.ram['page-size'] : 0;
    const boundS = (DISK_DATA + nonZeroRam) / LINK.bytesPerS;
    return {
      totalS: +(totalMs / 1000).toFixed(1),
      qemuDowntimeMs: info.downtime ?? null,
      ramMiB: +((info.ram?.transferred ?? 0) / 1048576).toFixed(1),
      diskTransferredMiB: info.disk ? +(info.disk.transferred / 1048576).toFixed(1) : null,
      lowerBoundS: +boundS.toFixed(1),
      ratioToBound: +(totalMs / 1000 / boundS).toFixed(2),
      ...integrityFields(integrity),
    };
  } finally {
    await src.stop();
    await dst.stop();
  }
}

export async function benchBlockMigration(): Promise<Record<string, unknown>> {
  await testbed.down();
  await testbed.up({ hosts: ['a', 'b'], shaping: { rate: LINK.rate } });
  try {
    return {
      link: LINK.rate,
      guest: { memoryMiB: 256, diskGiB: 1, diskDataMiB: DISK_DATA / 1048576 },
      articleWay: await rowOf(articleWay),
      // (b) vmhop: NBD + blockdev-mirror, then RAM, TLS, commit on the target (live-vmhop.ts).
      vmhop: await rowOf(() =>
        vmhopLive(
          { name: 'storage-copy', memoryMiB: 256, diskDataBytes: DISK_DATA, capMs: 900_000 },
          '10.77.0.52',
        ),
      ),
    };
  } finally {
    await testbed.down();
  }
}
