// Embedded mode's fleet snapshot for the drain planner: this agent's own host and VMs, and the
// host facts of its peers (the config's `peers`, or the ones named) asked over the peer link
// (GET /v1/peer/host). A peer that does not answer is in the snapshot as unavailable, so the
// plan names it instead of failing. Reads only; the planner (src/fleet) does the rest.
import type { HostInfo } from '../../protocol/host.js';
import type { FleetSnapshot, HostFacts, VmFacts, VmRunState } from '../../fleet/snapshot.js';
import type { VmRow } from '../db/vm-store.js';
import { resolvedMachine } from '../migration/preflight-qemu.js';
import type { AgentServices } from '../services.js';
import { listBridges } from '../vm/network.js';

const MIB = 1024 * 1024;
/** A peer that has not answered its host facts by then is planned around. */
export const PEER_FACTS_TIMEOUT_MS = 10_000;

export async function drainSnapshot(
  s: AgentServices,
  opts: { to?: string[]; linkBitsPerSecond: number },
): Promise<FleetSnapshot> {
  const names = opts.to ?? s.peerNames();
  // An unknown name is refused before anyone is asked (VMHOP_ERR_PEER_UNKNOWN lists the peers).
  const links = names.map((n) => s.peer(n));
  const self = hostFactsOf(
    { ...(await s.hostInfo()), bridges: await listBridges(), vmNames: [] },
    opts.linkBitsPerSecond,
  );
  const peers = await Promise.all(
    links.map(async (link) => {
      try {
        return hostFactsOf(await withTimeout(link.hostInfo(), link.name), opts.linkBitsPerSecond);
      } catch (e) {
        return unavailableHost(link.name, `peer \`${link.name}\` did not answer: ${(e as Error).message}`);
      }
    }),
  );
  const vms: VmFacts[] = [];
  for (const row of s.vmStore.list()) {
    const facts = await vmFactsOf(s, row, self);
    if (facts) vms.push(facts);
  }
  return { hosts: [self, ...peers], vms };
}

export function hostFactsOf(
  info: HostInfo & { bridges?: string[]; vmNames?: string[] },
  linkBitsPerSecond: number,
): HostFacts {
  return {
    name: info.name,
    memoryTotalBytes: info.memoryTotalBytes,
    memoryFreeBytes: info.memoryFreeBytes,
    pools: info.pools.map((p) => ({
      name: p.name,
      kind: p.kind,
      freeBytes: p.freeBytes,
      ...(p.kind === 'shared' && p.markerId ? { sharedId: p.markerId } : {}),
    })),
    cpuModels: info.cpuModels,
    machines: info.machines,
    machineAliases: info.machineAliases,
    qemuVersion: info.qemuVersion,
    accel: info.accel,
    linkBitsPerSecond,
    // A drained host (fleet/maintenance.ts) is left out as a target until it is undrained.
    maintenance: info.maintenance !== undefined,
    ...(info.vmNames ? { vmNames: info.vmNames } : {}),
    ...(info.bridges ? { bridges: info.bridges } : {}),
  };
}

function unavailableHost(name: string, reason: string): HostFacts {
  return {
    name,
    memoryTotalBytes: 0,
    memoryFreeBytes: 0,
    pools: [],
    cpuModels: [],
    machines: [],
    machineAliases: {},
    qemuVersion: '0.0.0',
    accel: 'tcg',
    linkBitsPerSecond: 0,
    maintenance: false,
    unavailable: reason,
  };
}

async function vmFactsOf(s: AgentServices, row: VmRow, self: HostFacts): Promise<VmFacts | undefined> {
  const state = runStateOf(s, row);
  if (!state) return undefined;
  const disks = [];
  for (const d of row.spec.disks) {
    const pool = self.pools.find((p) => p.name === d.pool);
    const volume = await s.storage.volumeInfo(d.pool, d.volume, { format: d.format }).catch(() => undefined);
    disks.push({
      target: d.target,
      pool: d.pool,
      usedBytes: volume?.allocatedBytes ?? 0,
      ...(pool?.sharedId ? { sharedId: pool.sharedId } : {}),
    });
  }
  const live = state === 'running' || state === 'paused';
  return {
    name: row.name,
    host: self.name,
    memoryBytes: row.spec.memoryMiB * MIB,
    state,
    disks,
    priority: row.spec.priority ?? 0,
    cpuModel: row.spec.cpuModel,
    // Moved state needs the versioned type its QEMU runs; a cold boot may take an alias.
    machine: live ? await resolvedMachine(s.migration, row) : row.spec.machine,
    bridges: row.spec.nics.map((n) => n.bridge),
  };
}

/** The planner's view of a VM's state; undefined for a VM that has moved away (not this host's). */
function runStateOf(s: AgentServices, row: VmRow): VmRunState | undefined {
  if (s.jobStore.runningFor(row.name)) return 'migrating';
  switch (row.state) {
    case 'running':
    case 'paused':
    case 'crashed':
      return row.state;
    case 'shutoff':
      return 'stopped';
    case 'migrating':
      return 'migrating';
    case 'moved':
      return undefined;
  }
}

function withTimeout<T>(p: Promise<T>, peer: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${PEER_FACTS_TIMEOUT_MS} ms from \`${peer}\``)),
      PEER_FACTS_TIMEOUT_MS,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
