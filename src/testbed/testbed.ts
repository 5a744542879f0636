// The test bed's verbs: up (idempotent; `etcd` adds the cluster mode's etcd), down (removes
// all that up made, also after a crash), status (status.ts), and link cut/restore/shape,
// also of one host's path to etcd. Several hosts on one Linux machine: see plan.ts.
import { VmhopError } from '../protocol/errors.js';
import { run } from './exec.js';
import { runOnHost } from './host-exec.js';
import {
  ensureClientNetwork,
  ensureHostNetwork,
  ensureRootBridges,
  listOurNetns,
  ourRootPorts,
  removeLink,
  removeNetns,
  setLink,
  type LinkNet,
} from './network.js';
import {
  ensureHostMounts,
  ensureStateDirMount,
  removeHostMounts,
  removeStateDirAndBacking,
} from './mounts.js';
import {
  BRIDGES,
  CLIENT_NETNS,
  ETCD_NETNS,
  SHARED_PATH,
  etcdPlan,
  hostPlan,
  isValidHostName,
  plansFor,
  type HostPlan,
} from './plan.js';
import { etcdChoice, readState, writeState, type TestbedState } from './state.js';
import { startEtcd } from './etcd.js';
import { setEtcdLink } from './etcd-cut.js';
import { isShaped, shapingCommands, validateShaping, type Shaping } from './shaping.js';
import { killAndWait } from '../agent/process/signals.js';
import {
  ensureSharedPool,
  newToken,
  removeTestbedConnections,
  startAgent,
  writeTestbedConnections,
} from './agents.js';

export { plansFor } from './plan.js';
export { status, type TestbedStatus } from './status.js';

export const DEFAULT_HOSTS = ['a', 'b'];

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new VmhopError(
      'VMHOP_ERR_NOT_ROOT',
      'the test bed makes network and mount namespaces: run it as root',
      {},
    );
  }
}

export async function up(
  opts: { hosts?: string[]; shaping?: Shaping; agents?: boolean; qemuBinary?: string; etcd?: boolean } = {},
): Promise<TestbedState> {
  requireRoot();
  const previous = await readState();
  const hosts = opts.hosts ?? previous?.hosts ?? DEFAULT_HOSTS;
  if (previous && previous.hosts.join(',') !== hosts.join(',')) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `the test bed is up with hosts ${previous.hosts.join(',')}, not ${hosts.join(',')}: run \`vmhop testbed down\` first`,
      { hosts: previous.hosts },
    );
  }
  const plans = plansFor(hosts);
  const shaping = validateShaping(opts.shaping ?? previous?.shaping ?? {});
  await ensureStateDirMount();
  const state: TestbedState = previous ?? {
    version: 1,
    hosts,
    shaping: {},
    processes: [],
    createdAt: new Date().toISOString(),
  };
  if (opts.qemuBinary !== undefined && previous && previous.qemuBinary !== opts.qemuBinary) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `the test bed's agents run ${previous.qemuBinary ?? 'qemu-system-x86_64'}, not ${opts.qemuBinary}: run \`vmhop testbed down\` first`,
      { qemuBinary: previous.qemuBinary ?? null },
    );
  }
  const withEtcd = etcdChoice(previous, opts.etcd);
  await writeState({
    ...state,
    hosts,
    ...(opts.qemuBinary ? { qemuBinary: opts.qemuBinary } : {}),
    // Recorded before the agents start: their config (cluster.etcd, no peers) follows it.
    ...(withEtcd ? { etcd: state.etcd ?? { clientUrl: etcdPlan().clientUrl } } : {}),
  });
  await ensureRootBridges();
  for (const h of plans) {
    await ensureHostNetwork(h);
    await ensureHostMounts(h);
  }
  await ensureClientNetwork();
  if (withEtcd) await upEtcd();
  await shape(shaping);
  if (opts.agents !== false) await startAgents(plans);
  return (await readState()) as TestbedState;
}

async function upEtcd(): Promise<void> {
  const state = (await readState()) as TestbedState;
  const p = etcdPlan();
  const pid = await startEtcd(p, state.etcd?.pid);
  await writeState({ ...state, etcd: { clientUrl: p.clientUrl, pid } });
}

async function startAgents(plans: HostPlan[]): Promise<void> {
  let state = (await readState()) as TestbedState;
  const token = state.token ?? newToken();
  for (const h of plans) {
    const pid = await startAgent(h, plans, state, token);
    const processes = state.processes.filter((p) => !(p.host === h.name && p.what === 'agent'));
    state = { ...state, token, processes: [...processes, { pid, host: h.name, what: 'agent' }] };
    await writeState(state);
  }
  writeTestbedConnections(plans, token);
  for (const h of plans) await ensureSharedPool(h, token, SHARED_PATH);
}

export async function shape(shaping: Shaping): Promise<TestbedState> {
  requireRoot();
  const state = await requireUp();
  validateShaping(shaping);
  const plans = plansFor(state.hosts);
  const [clear, ...rest] = shapingCommands('mig0', shaping);
  const clearAll = () =>
    Promise.all(plans.map((h) => runOnHost(h, ['tc', ...(clear ?? [])], { allowFail: true })));
  await clearAll();
  try {
    for (const h of plans) for (const c of rest) await runOnHost(h, ['tc', ...c]);
  } catch (e) {
    // Never leave the link half-shaped: clear it and record it as unshaped.
    await clearAll();
    await writeState({ ...state, shaping: {} });
    if (/qdisc kind is unknown/.test((e as Error).message)) {
      throw new VmhopError(
        'VMHOP_ERR_USAGE',
        `this kernel has no netem qdisc (sch_netem), which --delay and --loss need; --rate works without it`,
        { shaping },
        e,
      );
    }
    throw e;
  }
  const next = { ...state, shaping: isShaped(shaping) ? shaping : {} };
  await writeState(next);
  return next;
}

export async function link(net: LinkNet, to: 'up' | 'down'): Promise<void> {
  requireRoot();
  const state = await requireUp();
  await setLink(plansFor(state.hosts), net, to);
}

/** Cuts host `host` off the etcd (packets vanish both ways) or restores it; idempotent. */
export async function etcdLink(host: string, to: 'up' | 'down'): Promise<void> {
  requireRoot();
  const state = await requireUp();
  if (!state.etcd) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      'the test bed runs no etcd: `vmhop testbed down`, then `vmhop testbed up --etcd`',
      {},
    );
  }
  await setEtcdLink(await hostOf(host), to);
}

export async function down(): Promise<{ removed: string[] }> {
  requireRoot();
  const state = await readState();
  const removed: string[] = [];
  const etcdPid = state?.etcd?.pid;
  if (etcdPid !== undefined && (await killAndWait(etcdPid))) removed.push(`process ${etcdPid} (etcd)`);
  for (const p of state?.processes ?? []) {
    if (await killAndWait(p.pid)) removed.push(`process ${p.pid} (${p.what})`);
  }
  // Whatever still runs inside our namespaces was started there by us or our tests
  // (QEMUs, agents): end it by PID before the namespaces go.
  for (const ns of await listOurNetns()) {
    const pids = (await run('ip', ['netns', 'pids', ns], { allowFail: true })).stdout
      .split('\n')
      .filter(Boolean);
    for (const pid of pids) if (await killAndWait(Number(pid))) removed.push(`process ${pid} in ${ns}`);
  }
  const hosts =
    state?.hosts ??
    (await listOurNetns()).filter((n) => n !== CLIENT_NETNS && n !== ETCD_NETNS).map((n) => n.slice(6));
  for (const h of hosts.filter(isValidHostName).map((n, i) => hostPlan(n, i))) {
    await removeHostMounts(h);
  }
  for (const ns of await listOurNetns()) {
    await removeNetns(ns);
    removed.push(`namespace ${ns}`);
  }
  // A namespace still held by a process outlives `ip netns del` with its veth pairs:
  // removing the root-side ends breaks the pairs so nothing of the old bed lingers.
  for (const dev of await ourRootPorts()) await removeLink(dev);
  for (const b of Object.values(BRIDGES)) await removeLink(b);
  if (state) removeTestbedConnections(plansFor(state.hosts));
  await removeStateDirAndBacking();
  return { removed };
}

async function requireUp(): Promise<TestbedState> {
  const state = await readState();
  if (!state) {
    throw new VmhopError(
      'VMHOP_ERR_TESTBED_NOT_UP',
      'the test bed is not up: run `vmhop testbed up` first',
      {},
    );
  }
  return state;
}

/** The plan of one host of the running test bed, or an error naming the hosts there are. */
export async function hostOf(name: string): Promise<HostPlan> {
  const state = await requireUp();
  const i = state.hosts.indexOf(name);
  if (i < 0) {
    throw new VmhopError(
      'VMHOP_ERR_TESTBED_HOST_UNKNOWN',
      `test-bed host \`${name}\` does not exist; hosts: ${state.hosts.join(', ')}`,
      { host: name, hosts: state.hosts },
    );
  }
  return hostPlan(name, i);
}
