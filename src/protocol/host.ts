// What `vmhop host info` and the UI's host page show about one agent's host.
import { z } from 'zod';
import { PoolInfo } from './storage.js';

export const HostInfo = z.object({
  name: z.string(),
  agentVersion: z.string(),
  protocolVersion: z.number(),
  url: z.string(),
  qemuVersion: z.string(),
  kvm: z.boolean(),
  accel: z.enum(['kvm', 'tcg']),
  machines: z.array(z.string()),
  machineAliases: z.record(z.string(), z.string()),
  cpuModels: z.array(z.string()),
  cpus: z.number(),
  memoryTotalBytes: z.number(),
  memoryFreeBytes: z.number(),
  pools: z.array(PoolInfo),
  vmCount: z.number(),
  migrationAddress: z.string(),
});
export type HostInfo = z.infer<typeof HostInfo>;

/** Agent-to-agent messages carry this; a mismatch is refused naming both versions. */
export const PROTOCOL_VERSION = 1;
