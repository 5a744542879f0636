// Progress of a long VM lifecycle action on one host (virsh save, restore, shutdown), as the
// agent publishes it on its event stream (`vm.progress`) while the action's own request is
// still open. Migrations and volume copies report through their jobs (`job.progress`) instead.
import { z } from 'zod';

export const VmOperation = z.enum(['save', 'restore', 'shutdown']);
export type VmOperation = z.infer<typeof VmOperation>;

export const VmProgress = z.object({
  operation: VmOperation,
  /**
   * What `done` and `total` count. save: guest RAM already in the state file (bytes; QEMU's
   * query-migrate, total = the guest's RAM); restore: bytes of the state file read into QEMU
   * (total = the file's size); shutdown: ms waited for the guest to power off (total = the timeout).
   */
  unit: z.enum(['bytes', 'ms']),
  done: z.number(),
  total: z.number(),
  /** Bytes/s over the last interval (bytes only). */
  rateBps: z.number().optional(),
  /** Seconds left at that rate; for a shutdown, until the timeout; null when unknown. */
  etaS: z.number().nullable(),
  /** One line on what happens next, e.g. what the timeout of a shutdown does. */
  note: z.string(),
  elapsedMs: z.number(),
  /** The last event of the action: it ended (the request's answer says how). */
  ended: z.boolean(),
});
export type VmProgress = z.infer<typeof VmProgress>;

/** A client's id for one action's events: sent as `progressId` in the action's body. */
export const ProgressId = z.string().uuid('progressId must be a UUID');
