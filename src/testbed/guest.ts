// The test guest on a test-bed host: a launcher that runs it (its spec from
// test-guest/spec.ts) under QEMU (TCG) inside a host's namespaces on a tap in that host's br0.
// Tests and the demo use this until an agent exists on the host; it uses the agent's own argv
// builder.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { buildArgv, runFiles } from '../agent/vm/argv.js';
import { testGuestSpec, type GuestWorkload } from '../test-guest/spec.js';
import { runOnHost } from './host-exec.js';
import { killAndWait } from '../agent/process/signals.js';
import { HOST_RUN_DIR, type HostPlan } from './plan.js';

export const GUEST_PORT = 7777;

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
