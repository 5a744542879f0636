// One test-bed host's agent run from another vmhop build (a checkout of an earlier commit with its
// dist/ built), and back: a host not yet upgraded beside upgraded ones, for the rolling-upgrade
// tests. The other build keeps a registry of its own, as a host that never ran this vmhop would
// (an older agent refuses a registry a newer one has migrated): this build's is set aside meanwhile.
// The host's VMs are not carried over from one registry to the other: switch it with none.
import { existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { killAndWait } from '../agent/process/signals.js';
import { VmhopError } from '../protocol/errors.js';
import { ensureSharedPool, startAgent } from './agents.js';
import { SHARED_PATH, type HostPlan } from './plan.js';
import { readState, writeState } from './state.js';
import { hostOf, plansFor } from './testbed.js';

const REGISTRY_FILES = ['registry.sqlite', 'registry.sqlite-wal', 'registry.sqlite-shm'];
/** Where this build's registry waits while another build runs the host. */
const SET_ASIDE = '.this-build';

/**
 * Restarts the agent of test-bed host `name` from the vmhop build at `buildRoot`, or from this
 * build when absent; resolves with its pid once it is healthy and has the shared pool.
 */
export async function runAgentBuild(name: string, buildRoot?: string): Promise<number> {
  const h = await hostOf(name);
  let state = await readState();
  if (!state?.token) {
    throw new VmhopError(
      'VMHOP_ERR_TESTBED_NOT_UP',
      'the test bed has no agents: run `vmhop testbed up`',
      {},
    );
  }
  const running = state.processes.find((p) => p.host === name && p.what === 'agent');
  if (running) await killAndWait(running.pid);
  state = { ...state, processes: state.processes.filter((p) => p !== running) };
  await swapRegistry(h, buildRoot === undefined ? 'back' : 'aside');
  const pid = await startAgent(h, plansFor(state.hosts), state, state.token as string, buildRoot);
  await writeState({ ...state, processes: [...state.processes, { pid, host: name, what: 'agent' }] });
  await ensureSharedPool(h, state.token as string, SHARED_PATH);
  return pid;
}

/** `aside`: this build's registry out of the way (once); `back`: the other build's dropped, this one's restored. */
async function swapRegistry(h: HostPlan, to: 'aside' | 'back'): Promise<void> {
  const path = (f: string) => `${h.backingData}/${f}`;
  const setAside = existsSync(path(REGISTRY_FILES[0] + SET_ASIDE));
  if (to === 'aside') {
    if (setAside) return;
    for (const f of REGISTRY_FILES) if (existsSync(path(f))) await rename(path(f), path(f + SET_ASIDE));
    return;
  }
  if (!setAside) return;
  for (const f of REGISTRY_FILES) {
    await rm(path(f), { force: true });
    if (existsSync(path(f + SET_ASIDE))) await rename(path(f + SET_ASIDE), path(f));
  }
}
