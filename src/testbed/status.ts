// What `vmhop testbed status` reports, read from the system (namespaces, ports, tc, PIDs)
// and the test bed's state file; it changes nothing. The addresses come from plan.ts.
import { isAlive } from '../agent/process/signals.js';
import { agentUrl } from './agents.js';
import { etcdHealthy } from './etcd.js';
import { etcdLinkState } from './etcd-cut.js';
import { linkState, listOurNetns } from './network.js';
import {
  CLIENT_ADDRESS,
  CLIENT_NETNS,
  GUEST_SUBNET,
  HOST_DATA_DIR,
  HOST_RUN_DIR,
  SHARED_PATH,
  etcdPlan,
  plansFor,
  type HostPlan,
} from './plan.js';
import type { Shaping } from './shaping.js';
import { readState, type TestbedState } from './state.js';

export interface TestbedStatus {
  up: boolean;
  hosts: {
    name: string;
    netns: string;
    exists: boolean;
    mgmtAddress: string;
    migrationAddress: string;
    dataDir: string;
    runDir: string;
    backingDataDir: string;
    backingRunDir: string;
    agent: { pid: number; url: string; running: boolean } | null;
    /** With etcd: whether this host reaches it ('down' after `link etcd down`). */
    etcdLink: 'up' | 'down' | 'partial' | null;
  }[];
  etcd: {
    netns: string;
    address: string;
    clientUrl: string;
    pid: number | null;
    running: boolean;
    healthy: boolean;
    log: string;
  } | null;
  client: { netns: string; address: string; exists: boolean };
  sharedPath: string;
  guestSubnet: string;
  links: {
    migration: { state: string; shaping: Shaping };
    guest: { state: string };
  };
  processes: TestbedState['processes'];
}

export async function status(): Promise<TestbedStatus> {
  const state = await readState();
  const plans = state ? plansFor(state.hosts) : [];
  const present = new Set(await listOurNetns().catch(() => [] as string[]));
  const etcdLinks = new Map<string, TestbedStatus['hosts'][number]['etcdLink']>();
  if (state?.etcd) {
    for (const h of plans) etcdLinks.set(h.name, present.has(h.netns) ? await etcdLinkState(h) : null);
  }
  return {
    up: state !== undefined,
    hosts: plans.map((h) => ({
      name: h.name,
      netns: h.netns,
      exists: present.has(h.netns),
      mgmtAddress: h.mgmtAddress,
      migrationAddress: h.migrationAddress,
      dataDir: HOST_DATA_DIR,
      runDir: HOST_RUN_DIR,
      backingDataDir: h.backingData,
      backingRunDir: h.backingRun,
      agent: agentOf(state, h),
      etcdLink: etcdLinks.get(h.name) ?? null,
    })),
    etcd: await etcdOf(state),
    client: { netns: CLIENT_NETNS, address: CLIENT_ADDRESS, exists: present.has(CLIENT_NETNS) },
    sharedPath: SHARED_PATH,
    guestSubnet: GUEST_SUBNET,
    links: {
      migration: {
        state: state ? await linkState(plans, 'migration') : 'absent',
        shaping: state?.shaping ?? {},
      },
      guest: { state: state ? await linkState(plans, 'guest') : 'absent' },
    },
    processes: state?.processes ?? [],
  };
}

function agentOf(state: TestbedState | undefined, h: HostPlan): TestbedStatus['hosts'][number]['agent'] {
  const p = state?.processes.find((x) => x.host === h.name && x.what === 'agent');
  return p ? { pid: p.pid, url: agentUrl(h), running: isAlive(p.pid) } : null;
}

async function etcdOf(state: TestbedState | undefined): Promise<TestbedStatus['etcd']> {
  if (!state?.etcd) return null;
  const p = etcdPlan();
  const pid = state.etcd.pid ?? null;
  const running = pid !== null && isAlive(pid);
  return {
    netns: p.netns,
    address: p.address,
    clientUrl: p.clientUrl,
    pid,
    running,
    healthy: running && (await etcdHealthy(p)),
    log: p.logFile,
  };
}
