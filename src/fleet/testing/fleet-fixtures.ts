// Hosts and VMs for the planner's tests and the simulation: a QEMU 10.0 host with 64 GiB, a
// `default` dir pool and the `nfs` shared pool, a 10 Gbit/s link; a running 4 GiB VM without
// disks. Each test overrides what it is about.
import type { HostFacts, VmFacts } from '../snapshot.js';

export const GIB = 1024 ** 3;
export const GBIT = 1e9;

export function host(name: string, over: Partial<HostFacts> = {}): HostFacts {
  return {
    name,
    memoryTotalBytes: 64 * GIB,
    memoryFreeBytes: 48 * GIB,
    pools: [
      { name: 'default', kind: 'dir', freeBytes: 500 * GIB },
      { name: 'nfs', kind: 'shared', freeBytes: 10_000 * GIB, sharedId: 'nfs-1' },
    ],
    cpuModels: ['qemu64', 'Haswell', 'Skylake-Server'],
    machines: ['pc-i440fx-10.0', 'pc-q35-10.0', 'pc-i440fx-7.2'],
    machineAliases: { pc: 'pc-i440fx-10.0', q35: 'pc-q35-10.0' },
    qemuVersion: '10.0.2',
    accel: 'kvm',
    linkBitsPerSecond: 10 * GBIT,
    maintenance: false,
    ...over,
  };
}

export function vm(name: string, over: Partial<VmFacts> = {}): VmFacts {
  return {
    name,
    host: 'src',
    memoryBytes: 4 * GIB,
    state: 'running',
    disks: [],
    priority: 0,
    cpuModel: 'qemu64',
    machine: 'pc-i440fx-10.0',
    ...over,
  };
}
