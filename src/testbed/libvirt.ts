// libvirt daemons on test-bed hosts, for the benchmark suite's `virsh migrate` peer: one
// libvirtd per host in the host's network and mount namespace (and a UTS namespace of its own,
// so the two look like two machines to libvirt's same-host check), with its own config, run,
// state, cache and log dirs bind-mounted over libvirt's paths. Not vmhop: nothing in the agent
// uses libvirt. Installed by scripts/bench-setup.sh; configs in libvirt-config.ts.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { killAndWait } from '../agent/process/signals.js';
import { run } from './exec.js';
import { nsenterArgs } from './host-exec.js';
import { LIBVIRT_DIRS, LIBVIRTD_LOG, libvirtdConf, parseMonitorEvents, qemuConf } from './libvirt-config.js';
import type { HostPlan } from './plan.js';

export interface LibvirtDaemon {
  host: HostPlan;
  pid: number;
  /** The URI virsh (in the root namespace) reaches this daemon with. */
  uri: string;
  /** The root namespace's path of a dir that is `inHost` inside the host. */
  backing(dir: keyof typeof LIBVIRT_DIRS): string;
}

const backingOf = (h: HostPlan, dir: keyof typeof LIBVIRT_DIRS) => `${h.backingRun}/libvirt/${dir}`;

async function mountDirs(h: HostPlan): Promise<void> {
  for (const dir of Object.keys(LIBVIRT_DIRS) as (keyof typeof LIBVIRT_DIRS)[]) {
    await mkdir(`${backingOf(h, dir)}/qemu`, { recursive: true });
    const inHost = LIBVIRT_DIRS[dir];
    const ns = ['--mount=' + h.mountNsFile, '--'];
    await run('nsenter', [...ns, 'mkdir', '-p', inHost]);
    const mounted = await run('nsenter', [...ns, 'mountpoint', '-q', inHost], { allowFail: true });
    if (mounted.exitCode !== 0) await run('nsenter', [...ns, 'mount', '--bind', backingOf(h, dir), inHost]);
  }
}

/** Starts libvirtd on `h` and waits until `virsh -c URI version` answers (it probes QEMU first). */
export async function startLibvirtd(
  h: HostPlan,
  opts: { readyTimeoutMs?: number } = {},
): Promise<LibvirtDaemon> {
  await mountDirs(h);
  await writeFile(
    `${backingOf(h, 'etc')}/libvirtd.conf`,
    libvirtdConf({ listenAddress: h.mgmtAddress, hostUuid: randomUUID() }),
  );
  await writeFile(`${backingOf(h, 'etc')}/qemu.conf`, qemuConf());
  const log = openSync(`${backingOf(h, 'log')}/stderr.log`, 'a');
  const child = spawn(
    'nsenter',
    [
      ...nsenterArgs(h),
      'unshare',
      '--uts',
      'sh',
      '-c',
      `hostname vmhop-bench-${h.name} && exec libvirtd --listen -p ${LIBVIRT_DIRS.run}/libvirtd.pid -f ${LIBVIRT_DIRS.etc}/libvirtd.conf`,
    ],
    { detached: true, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  child.unref();
  const daemon: LibvirtDaemon = {
    host: h,
    pid: child.pid!,
    uri: `qemu+tcp://${h.mgmtAddress}/system`,
    backing: (dir) => backingOf(h, dir),
  };
  const until = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    const r = await run('virsh', ['-c', daemon.uri, 'version'], { allowFail: true, timeoutMs: 20_000 });
    if (r.exitCode === 0) return daemon;
    if (child.exitCode !== null || Date.now() > until) {
      await stopLibvirtd(daemon);
      const err = await readFile(`${backingOf(h, 'log')}/stderr.log`, 'utf8').catch(() => '');
      throw new Error(`libvirtd on ${h.name} did not come up: ${r.stderr.trim()} ${err.slice(-2000)}`);
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** Ends the daemon (its QEMUs are the caller's: destroy them first) and unmounts its dirs. */
export async function stopLibvirtd(d: LibvirtDaemon): Promise<void> {
  await killAndWait(d.pid);
  for (const inHost of Object.values(LIBVIRT_DIRS)) {
    await run('nsenter', ['--mount=' + d.host.mountNsFile, '--', 'umount', inHost], { allowFail: true });
  }
}

export function virsh(
  d: LibvirtDaemon,
  args: readonly string[],
  opts: { timeoutMs?: number; allowFail?: boolean } = {},
) {
  return run('virsh', ['-c', d.uri, ...args], {
    timeoutMs: opts.timeoutMs ?? 60_000,
    allowFail: opts.allowFail,
  });
}

/** QEMU's STOP/RESUME events (QEMU's timestamps) this daemon's QEMUs sent since `sinceMs`. */
export async function monitorEvents(d: LibvirtDaemon, names: readonly string[], sinceMs: number) {
  const log = await readFile(`${backingOf(d.host, 'log')}/${LIBVIRTD_LOG.split('/').pop()}`, 'utf8').catch(
    () => '',
  );
  return parseMonitorEvents(log, names).filter((e) => e.atMs >= sinceMs);
}
