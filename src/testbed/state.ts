// The test bed's own record: which hosts `up` made, the shaping asked for, and the
// processes it started (by PID), so `down` can remove exactly that, even after a crash.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
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
  createdAt: string;
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
