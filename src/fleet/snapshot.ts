// What the drain planner reads: a fleet snapshot (hosts and their VMs as facts, gathered by
// whoever runs it: one agent and its peers in embedded mode, etcd in cluster mode) and the
// request (which host, which targets, which limits). Plain data, no I/O: the planner is pure.
import type { DrainLimits } from '../protocol/drain.js';

export interface PoolFacts {
  name: string;
  kind: 'dir' | 'shared' | 'block';
  freeBytes: number;
  /** Shared pools: the marker id, equal on every host that mounts the same storage. */
  sharedId?: string;
}

export interface HostFacts {
  name: string;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
  pools: PoolFacts[];
  cpuModels: string[];
  /** Versioned machine types (pc-i440fx-10.0, ...). */
  machines: string[];
  /** Alias -> versioned type (pc -> pc-i440fx-10.0). */
  machineAliases: Record<string, string>;
  qemuVersion: string;
  accel: 'kvm' | 'tcg';
  /** Its migration link's rate, bits per second. */
  linkBitsPerSecond: number;
  /** A drained host takes no VMs until it is undrained. */
  maintenance: boolean;
  /** Set when the host could not be asked (its facts are then not to be trusted). */
  unavailable?: string;
  /** Names of the VMs defined there (a name may not be taken twice). */
  vmNames?: string[];
  /** Linux bridges there (a VM's NICs need theirs). */
  bridges?: string[];
}

export interface DiskFacts {
  target: string;
  pool: string;
  /** Bytes the volume occupies (what a copy sends). */
  usedBytes: number;
  /** Set when the pool is shared storage: the marker id of that storage. */
  sharedId?: string;
}

export type VmRunState = 'running' | 'paused' | 'stopped' | 'crashed' | 'migrating';

export interface VmFacts {
  name: string;
  host: string;
  memoryBytes: number;
  state: VmRunState;
  disks: DiskFacts[];
  /** Higher moves earlier; 0 when the VM names none. */
  priority: number;
  cpuModel: string;
  /** The versioned machine type it runs as (a stopped VM: as defined, alias allowed). */
  machine: string;
  bridges?: string[];
  /** Bytes/s of guest pages made dirty, when measured (the prediction assumes a small rate otherwise). */
  dirtyRateBps?: number;
}

export interface FleetSnapshot {
  hosts: HostFacts[];
  vms: VmFacts[];
}

export interface DrainRequest {
  host: string;
  /** Only these hosts may take VMs; all others when absent. */
  allowedTargets?: string[];
  limits?: Partial<DrainLimits>;
}

const GIB = 1024 ** 3;

/**
 * Two moves per target host: a receiving agent starts a QEMU and writes disks for each. Four per
 * link: at 10 Gbit/s four streams still get 2.5 Gbit/s each, more than one QEMU migration thread
 * usually sends; fewer would leave the link idle during the per-move set-up seconds.
 */
export const DEFAULT_LIMITS: DrainLimits = {
  maxPerHost: 2,
  maxPerLink: 4,
  memoryReserveBytes: 1 * GIB,
};

export function limitsOf(request: DrainRequest): DrainLimits {
  return { ...DEFAULT_LIMITS, ...request.limits };
}
