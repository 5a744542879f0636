// The test guest on a test-bed host: its kernel and initrd (built by
// scripts/build-guest.sh), its kernel command line, and a launcher that runs it under
// QEMU (TCG) inside a host's namespaces on a tap in that host's br0. Tests and the demo
// use this until an agent exists on the host; it uses the agent's own argv builder.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { buildArgv, runFiles } from '../agent/vm/argv.js';
import { VmhopError } from '../protocol/errors.js';
import { VmSpec } from '../protocol/vm-spec.js';
import { runOnHost } from './host-exec.js';
import { killAndWait } from '../agent/process/signals.js';
import { HOST_RUN_DIR, type HostPlan } from './plan.js';
import { GUEST_DIR } from './paths.js';

export const GUEST_PORT = 7777;

export interface GuestWorkload {
  ip: string; // e.g. 10.77.0.5 (the /24 of the guest subnet is implied)
  memMiB?: number;
  memRateMiBs?: number;
  disk?: string; // e.g. /dev/vda
  diskRateKiBs?: number;
}

/** The uncompressed PVH kernel (vmlinux) when the build made one: TCG then skips ~3 s of xz. */
export function guestArtifacts(): { kernel: string; initrd: string } {
  const pvh = join(GUEST_DIR, 'vmlinux');
  const kernel = existsSync(pvh) ? pvh : join(GUEST_DIR, 'vmlinuz');
  const initrd = join(GUEST_DIR, 'initrd.img');
  if (!existsSync(kernel) || !existsSync(initrd)) {
    throw new VmhopError(
      'VMHOP_ERR_GUEST_NOT_BUILT',
      `the test guest is not built (${GUEST_DIR} is missing): run \`bash scripts/setup.sh\``,
      { path: GUEST_DIR },
    );
  }
  return { kernel, initrd };
}

export function guestCmdline(w: GuestWorkload): string {
  return [
    'console=ttyS0',
    'quiet',
    'panic=-1',
    `vmhop.ip=${w.ip}/24`,
    ...(w.memMiB ? [`vmhop.mem=${w.memMiB}`] : []),
    ...(w.memRateMiBs ? [`vmhop.memrate=${w.memRateMiBs}`] : []),
    ...(w.disk ? [`vmhop.disk=${w.disk}`] : []),
    ...(w.diskRateKiBs ? [`vmhop.diskrate=${w.diskRateKiBs}`] : []),
  ].join(' ');
}

/** A locally administered MAC derived from the guest address, so it is stable across hosts. */
export function guestMac(ip: string): string {
  const last = Number(ip.split('.')[3] ?? 0);
  return `52:54:00:77:00:${last.toString(16).padStart(2, '0')}`;
}

/** The spec of a test-guest VM: direct kernel boot of the built guest, one NIC, an optional disk. */
export function testGuestSpec(o: {
  name: string;
  memoryMiB: number;
  workload: GuestWorkload;
  bridge: string;
  uuid?: string;
  disk?: { pool: string; volume: string; format: 'qcow2' | 'raw' };
}): VmSpec {
  const { kernel, initrd } = guestArtifacts();
  return VmSpec.parse({
    name: o.name,
    uuid: o.uuid ?? randomUUID(),
    memoryMiB: o.memoryMiB,
    machine: 'pc',
    boot: { kind: 'kernel', kernel, initrd, cmdline: guestCmdline(o.workload) },
    disks: o.disk ? [{ target: 'vda', ...o.disk }] : [],
    nics: [{ mac: guestMac(o.workload.ip), bridge: o.bridge }],
  });
}

export interface LaunchedGuest {
  name: string;
  host: HostPlan;
  pid: number;
  ip: string;
  tap: string;
  /** Paths as the root namespace sees them (the host's /run/vmhop is a bind mount). */
  qmpSocket: string;
  serialLog: string;
}

export async function launchGuest(
  host: HostPlan,
  opts: {
    name: string;
    memoryMiB?: number;
    workload: GuestWorkload;
    disk?: { path: string; format: 'qcow2' | 'raw' };
  },
): Promise<LaunchedGuest> {
  const spec = testGuestSpec({
    name: opts.name,
    memoryMiB: opts.memoryMiB ?? 256,
    workload: opts.workload,
    bridge: 'br0',
    ...(opts.disk ? { disk: { pool: 'testbed', volume: opts.name, format: opts.disk.format } } : {}),
  });
  const hostRunDir = `${HOST_RUN_DIR}/testbed-guests/${opts.name}`;
  const rootRunDir = `${host.backingRun}/testbed-guests/${opts.name}`;
  await rm(rootRunDir, { recursive: true, force: true });
  await mkdir(rootRunDir, { recursive: true, mode: 0o700 });
  const tap = `tap-${opts.name}`.slice(0, 15);
  await runOnHost(host, ['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  await runOnHost(host, ['ip', 'link', 'set', tap, 'master', 'br0', 'up']);
  const argv = buildArgv(spec, {
    accel: 'tcg',
    diskPaths: opts.disk ? { vda: opts.disk.path } : {},
    taps: [tap],
    runDir: hostRunDir,
  });
  try {
    await runOnHost(host, argv, { timeoutMs: 30_000 });
  } catch (e) {
    await runOnHost(host, ['ip', 'link', 'del', tap], { allowFail: true });
    throw e;
  }
  const files = runFiles(rootRunDir);
  const pid = Number((await readFile(files.pidfile, 'utf8')).trim());
  return {
    name: opts.name,
    host,
    pid,
    ip: opts.workload.ip,
    tap,
    qmpSocket: files.qmp,
    serialLog: files.serialLog,
  };
}

export async function stopGuest(g: LaunchedGuest): Promise<void> {
  await killAndWait(g.pid);
  await runOnHost(g.host, ['ip', 'link', 'del', g.tap], { allowFail: true });
}
