// A VM as the API reports it: its definition plus the host's view of its run state.
import { z } from 'zod';
import { VmSpec } from './vm-spec.js';

/** shutoff: defined, no QEMU; running/paused: QEMU up (vCPUs running or stopped);
 *  crashed: QEMU went away without being asked; moved: the VM now lives on another host;
 *  migrating: shown (never stored) while a migration job of the VM runs on this host. */
export const VmState = z.enum(['shutoff', 'running', 'paused', 'crashed', 'moved', 'migrating']);
export type VmState = z.infer<typeof VmState>;

export const VmInfo = z.object({
  name: z.string(),
  uuid: z.string(),
  state: VmState,
  pid: z.number().nullable(),
  owner: z.string(),
  spec: VmSpec,
  /** The QEMU status string from query-status when QEMU runs (running, paused, inmigrate, postmigrate, ...). */
  qemuStatus: z.string().optional(),
});
export type VmInfo = z.infer<typeof VmInfo>;
