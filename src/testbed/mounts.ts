// Per-host mount namespaces kept in files (`unshare --mount=FILE`), so that every host
// has its own /var/lib/vmhop and /run/vmhop (equal paths, different files, as on real
// hosts) while one shared directory is mounted at the same path everywhere (the NFS stand-in).
import { mkdir } from 'node:fs/promises';
import { run, succeeds } from './exec.js';
import { BACKING_DIR, HOST_DATA_DIR, HOST_RUN_DIR, SHARED_PATH, STATE_DIR, type HostPlan } from './plan.js';

const SHARED_BACKING = `${BACKING_DIR}/shared`;

/** A namespace file can only be bind-mounted under a private mount: make STATE_DIR one. */
export async function ensureStateDirMount(): Promise<void> {
  await mkdir(STATE_DIR, { recursive: true });
  if (!(await succeeds('mountpoint', ['-q', STATE_DIR]))) {
    await run('mount', ['--bind', STATE_DIR, STATE_DIR]);
  }
  await run('mount', ['--make-private', STATE_DIR]);
}

export async function ensureHostMounts(h: HostPlan): Promise<void> {
  for (const d of [h.backingData, h.backingRun, SHARED_BACKING, HOST_DATA_DIR, HOST_RUN_DIR, SHARED_PATH]) {
    await mkdir(d, { recursive: true });
  }
  if (await succeeds('mountpoint', ['-q', h.mountNsFile])) return;
  await run('touch', [h.mountNsFile]);
  await run('unshare', [`--mount=${h.mountNsFile}`, '--propagation', 'private', 'true']);
  const inNs = (args: string[]) => run('nsenter', [`--mount=${h.mountNsFile}`, '--', 'mount', ...args]);
  await inNs(['--bind', h.backingData, HOST_DATA_DIR]);
  await inNs(['--bind', h.backingRun, HOST_RUN_DIR]);
  await inNs(['--bind', SHARED_BACKING, SHARED_PATH]);
}

export async function removeHostMounts(h: HostPlan): Promise<void> {
  if (await succeeds('mountpoint', ['-q', h.mountNsFile])) await run('umount', [h.mountNsFile]);
  await run('rm', ['-f', h.mountNsFile]);
}

export async function removeStateDirAndBacking(): Promise<void> {
  if (await succeeds('mountpoint', ['-q', STATE_DIR])) await run('umount', ['-l', STATE_DIR]);
  await run('rm', ['-rf', STATE_DIR, BACKING_DIR]);
}

export { SHARED_BACKING };
