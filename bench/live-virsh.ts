// Live migration with libvirt: `virsh migrate --live` between the libvirt daemons the suite
// runs in test-bed hosts a and b (src/testbed/libvirt.ts), on the same QEMU binary, guest and
// link as the other peers; `--copy-storage-all` to a target image created beforehand, as
// libvirt requires. The real pause is QEMU's STOP (source) to RESUME (target) from the
// daemons' monitor logs, with QEMU's own timestamps; the reported one is domjobinfo's.
import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { startGapProbe, waitForGuest } from '../src/testbed/client.js';
import { testGuestSpec } from '../src/test-guest/spec.js';
import { checkGuestIntegrity, fileConsole, snapshotGuest } from '../src/testbed/integrity.js';
import { benchDomainXml, jobInfoBytes, parseJobInfo } from '../src/testbed/libvirt-config.js';
import { monitorEvents, virsh, type LibvirtDaemon } from '../src/testbed/libvirt.js';
import { run } from '../src/testbed/exec.js';
import { integrityFields } from './integrity-row.js';
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

const VM = 'bench-l';
const PORT = 4446;
const SERIAL = `/run/libvirt/qemu/${VM}.serial`;
const DISK = `/var/lib/vmhop/${VM}.qcow2`;

export interface LibvirtPair {
  a: LibvirtDaemon;
  b: LibvirtDaemon;
}

async function prepare(c: LiveCase, d: LibvirtPair, ip: string) {
  const [a, b] = [d.a.host, d.b.host];
  await rm(`${d.b.backing('run')}/qemu/${VM}.serial`, { force: true });
  if (c.diskDataBytes) {
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', `${a.backingData}/${VM}.qcow2`, '1G']);
    await execa('qemu-io', [
      '-f',
      'qcow2',
      '-c',
      `write -P 0xab 0 ${c.diskDataBytes}`,
      `${a.backingData}/${VM}.qcow2`,
    ]);
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', `${b.backingData}/${VM}.qcow2`, '1G']);
  }
  const spec = testGuestSpec({
    name: VM,
    memoryMiB: c.memoryMiB,
    workload: workloadOf(c, ip),
    bridge: 'br0',
    ...(c.diskDataBytes ? { disk: { pool: 'bench', volume: VM, format: 'qcow2' as const } } : {}),
  });
  const xml = `${d.a.backing('run')}/${VM}.xml`;
  await execa('sh', ['-c', 'cat > "$0"', xml], {
    input: benchDomainXml(spec, { serialPath: SERIAL, diskPath: DISK }),
  });
  await virsh(d.a, ['create', xml]);
}

async function cleanup(c: LiveCase, d: LibvirtPair) {
  for (const x of [d.a, d.b]) {
    await virsh(x, ['destroy', VM], { allowFail: true });
    if (c.diskDataBytes) await rm(`${x.host.backingData}/${VM}.qcow2`, { force: true });
  }
}

/** `virsh migrate`; at the cap, `virsh domjobabort` on the source and the migrate's own end. */
async function migrateCapped(c: LiveCase, d: LibvirtPair) {
  const args = [
    'migrate',
    '--live',
    '--verbose',
    ...(c.diskDataBytes ? ['--copy-storage-all'] : []),
    VM,
    d.b.uri,
    '--migrateuri',
    `tcp://${d.b.host.migrationAddress}:${PORT}`,
  ];
  let capped = false;
  const timer = setTimeout(() => {
    capped = true;
    void virsh(d.a, ['domjobabort', VM], { allowFail: true });
  }, c.capMs);
  const r = await run('virsh', ['-c', d.a.uri, ...args], { allowFail: true, timeoutMs: c.capMs + 120_000 });
  clearTimeout(timer);
  return { r, capped };
}

export async function virshLive(c: LiveCase, d: LibvirtPair, ip = '10.77.0.43'): Promise<LiveFigures> {
  await cleanup(c, d);
  try {
    await prepare(c, d, ip);
    if (!(await waitForGuest(ip, 60_000)).ok) throw new Error('guest did not come up');
    await sleep(5_000);
    const before = await snapshotGuest(ip);
    const probe = startGapProbe(ip);
    const wire = await countWire();
    const t0 = Date.now();
    const { r, capped } = await migrateCapped(c, d);
    const totalMs = Date.now() - t0;
    const wireMiB = await wire.done();
    await sleep(2_000);
    const gaps = await probe.stop();
    if (r.exitCode !== 0) {
      // --verbose writes its progress to stderr, without a newline before the error: the error is the last piece.
      const why =
        r.stderr
          .replace(/Migration: \[[^\]]*\]/g, '\n')
          .split(/[\r\n]/)
          .filter((l) => l.trim())
          .pop() ?? '';
      if (capped)
        return notFinished(totalMs, null, `domjobabort at the ${c.capMs / 1000} s cap (${why})`, wireMiB);
      throw new Error(`virsh migrate failed: ${why}`);
    }
    const info = parseJobInfo((await virsh(d.b, ['domjobinfo', '--completed', VM])).stdout);
    const stops = (await monitorEvents(d.a, ['STOP'], t0)).map((e) => e.atMs);
    const resumedAt = (await monitorEvents(d.b, ['RESUME'], t0))[0]?.atMs;
    const stoppedAt = stops.filter((s) => resumedAt === undefined || s <= resumedAt).pop();
    const pageSize = Number.parseInt(info['Page size'] ?? '4096', 10);
    const nonZeroRam =
      jobInfoBytes(info['Memory total']) - Number.parseInt(info['Constant pages'] ?? '0', 10) * pageSize;
    const integrity = await checkGuestIntegrity({
      ip,
      before,
      console: fileConsole(`${d.b.backing('run')}/qemu/${VM}.serial`),
      switchoverAt: resumedAt ?? t0 + totalMs,
    });
    const downtime = Number.parseInt(info['Total downtime'] ?? '', 10);
    return {
      finished: true,
      totalS: round(totalMs / 1000),
      ...bound(totalMs, nonZeroRam + (c.diskDataBytes ?? 0)),
      realPauseMs:
        resumedAt !== undefined && stoppedAt !== undefined ? round(resumedAt - stoppedAt, 0) : null,
      downtimeMs: Number.isFinite(downtime) ? downtime : null,
      qemuDowntimeMs: null,
      clientGapMs: gaps.maxGapMs,
      wireMiB,
      sentMiB: round(jobInfoBytes(info['Data processed']) / MIB, 1),
      ...integrityFields(integrity),
    };
  } finally {
    await cleanup(c, d);
  }
}
