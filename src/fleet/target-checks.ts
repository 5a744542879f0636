// Can this host take this VM? The drain planner's per-target checks, in the pre-flight's terms
// (migration/preflight.ts, preflight-qemu.ts): name free, CPU model, machine type, bridges,
// shared storage reached, pools with room, memory beyond the reserve. Pure: capacity already
// promised to earlier VMs of the same plan comes in as `Room`.
import type { DrainMode } from '../protocol/drain.js';
import type { HostFacts, VmFacts } from './snapshot.js';

/** What a target has left once the VMs planned to it so far are counted. */
export interface Room {
  memoryFreeBytes: number;
  /** Pool name -> free bytes. */
  poolFreeBytes: Map<string, number>;
  vmsIn: number;
}

export type TargetCheck =
  | 'name-taken'
  | 'cpu-model'
  | 'machine-type'
  | 'bridges'
  | 'shared-storage'
  | 'pool-missing'
  | 'pool-space'
  | 'memory';

export interface Refusal {
  check: TargetCheck;
  /** What hosts refused by this check lack, as `N hosts <phrase>` reads. */
  phrase: string;
}

const GIB = 1024 ** 3;
export const gib = (bytes: number): string => `${(bytes / GIB).toFixed(1)} GiB`;

export function roomOf(host: HostFacts): Room {
  return {
    memoryFreeBytes: host.memoryFreeBytes,
    poolFreeBytes: new Map(host.pools.map((p) => [p.name, p.freeBytes])),
    vmsIn: 0,
  };
}

export const isLive = (vm: VmFacts): boolean => vm.state === 'running' || vm.state === 'paused';

/** Live when it runs: over shared storage when every disk is on it, else copying the local ones. */
export function modeOf(vm: VmFacts): DrainMode {
  if (!isLive(vm)) return 'offline';
  return vm.disks.every((d) => d.sharedId !== undefined) ? 'live-shared' : 'live-copy';
}

/** Disk bytes that cross the link: local disks only (shared ones stay where they are). */
export const localDiskBytes = (vm: VmFacts): number =>
  vm.disks.filter((d) => d.sharedId === undefined).reduce((n, d) => n + d.usedBytes, 0);

/** Memory a VM takes on its target now: a stopped VM takes none until it is started. */
export const memoryNeed = (vm: VmFacts): number => (isLive(vm) ? vm.memoryBytes : 0);

/** The first check `target` fails for `vm`, or undefined when it can take it. */
export function refusalOf(
  vm: VmFacts,
  target: HostFacts,
  room: Room,
  reserveBytes: number,
): Refusal | undefined {
  if (target.vmNames?.includes(vm.name))
    return { check: 'name-taken', phrase: `already have a VM named \`${vm.name}\`` };
  if (!target.cpuModels.includes(vm.cpuModel))
    return { check: 'cpu-model', phrase: `lack CPU model \`${vm.cpuModel}\`` };
  // Moved state needs the very versioned type; a cold boot may take the target's own for an alias.
  const machineOk =
    target.machines.includes(vm.machine) || (!isLive(vm) && vm.machine in target.machineAliases);
  if (!machineOk) return { check: 'machine-type', phrase: `lack machine type \`${vm.machine}\`` };
  const missingBridges = (vm.bridges ?? []).filter((b) => target.bridges && !target.bridges.includes(b));
  if (missingBridges.length) return { check: 'bridges', phrase: `lack bridge ${missingBridges.join(', ')}` };
  const copied = new Map<string, number>();
  for (const d of vm.disks) {
    if (d.sharedId !== undefined) {
      if (!target.pools.some((p) => p.kind === 'shared' && p.sharedId === d.sharedId))
        return { check: 'shared-storage', phrase: `do not mount the shared storage of pool \`${d.pool}\`` };
      continue;
    }
    copied.set(d.pool, (copied.get(d.pool) ?? 0) + d.usedBytes);
  }
  for (const [pool, bytes] of copied) {
    const there = target.pools.find((p) => p.name === pool);
    if (!there || there.kind === 'shared')
      return { check: 'pool-missing', phrase: `have no local pool \`${pool}\`` };
    if ((room.poolFreeBytes.get(pool) ?? 0) < bytes)
      return { check: 'pool-space', phrase: `have less than ${gib(bytes)} free in pool \`${pool}\`` };
  }
  const need = memoryNeed(vm);
  if (need > 0 && room.memoryFreeBytes - reserveBytes < need)
    return {
      check: 'memory',
      phrase: `have less than ${gib(need)} of RAM free beyond the ${gib(reserveBytes)} reserve`,
    };
  return undefined;
}

/** The room left on a target once `vm` is planned to it. */
export function take(room: Room, vm: VmFacts): void {
  room.memoryFreeBytes -= memoryNeed(vm);
  for (const d of vm.disks) {
    if (d.sharedId === undefined)
      room.poolFreeBytes.set(d.pool, (room.poolFreeBytes.get(d.pool) ?? 0) - d.usedBytes);
  }
  room.vmsIn += 1;
}

/** What to do about the check that refused the most hosts. */
export const fixOf: Record<TargetCheck, string> = {
  'name-taken': 'rename or undefine the VM of that name there',
  'cpu-model':
    'define the VM with a CPU model the targets have (qemu64 always is), or allow a host that has it',
  'machine-type': 'restart the VM with a machine type the targets have, or upgrade their QEMU',
  bridges: 'create the bridge on the targets (the guest must land on the same L2 network)',
  'shared-storage': 'mount that storage on more hosts and define the pool there',
  'pool-missing': 'define a pool of that name on the targets',
  'pool-space': 'free space in that pool on the targets, or allow more hosts',
  memory: 'free memory on the targets, lower the reserve, or allow more hosts',
};
