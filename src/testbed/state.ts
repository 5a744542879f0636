// The test bed's own record: which hosts `up` made, the shaping asked for, and the
// processes it started (by PID), so `down` can remove exactly that, even after a crash.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { VmhopError } from '../protocol/errors.js';
import { STATE_DIR } from './plan.js';
import type { Shaping } from './shaping.js';

export interface TestbedProcess {
  pid: number;
  host: string;
  what: string;
}

export interface TestbedState {
  version: 1;
  hosts: string[];
  shaping: Shaping;
  processes: TestbedProcess[];
  /** The client token every test-bed agent accepts (the hosts file carries it too). */
  token?: string;
  /** The QEMU binary the agents run (`up --qemu`); absent: qemu-system-x86_64 from PATH. */
  qemuBinary?: string;
  /** Present when the bed was made with `up --etcd`; the pid once etcd answered. */
  etcd?: { clientUrl: string; pid?: number };
  createdAt: string;
}

/**
 * Whether `up` runs an etcd: the running bed's choice unless `asked` says otherwise, and a
 * different one only after `down` (the agents' config and the peers they know hang on it).
 */
export function etcdChoice(previous: TestbedState | undefined, asked: boolean | undefined): boolean {
  const running = previous?.etcd !== undefined;
  if (asked === undefined || !previous || asked === running) return asked ?? running;
  throw new VmhopError(
    'VMHOP_ERR_USAGE',
    `the test bed is up ${running ? 'with' : 'without'} etcd, not ${asked ? 'with' : 'without'}: run \`vmhop testbed down\` first`,
    { etcd: running },
  );
}

const STATE_FILE = `${STATE_DIR}/state.json`;

export async function readState(): Promise<TestbedState | undefined> {
  try {
    return JSON.parse(await readFile(STATE_FILE, 'utf8')) as TestbedState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function writeState(state: TestbedState): Promise<void> {
  await mkdir(STATE_DIR, { recursive: true });
  const tmp = `${STATE_FILE}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n');
  await rename(tmp, STATE_FILE);
}
