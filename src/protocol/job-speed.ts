// The speed of a running migration, as virsh migrate-setspeed / migrate-setmaxdowntime /
// migrate-getspeed see it: the RAM stream's cap in MiB/s (QEMU's max-bandwidth, and
// max-postcopy-bandwidth once post-copy may run) and the switchover's downtime limit in ms.
import { z } from 'zod';

/** MiB/s; 0 = no cap (vmhop's default; virsh passes a negative value for "unlimited"). */
export const SetSpeedRequest = z.object({ mibPerS: z.number().int().min(0).max(1_000_000) }).strict();
/** ms; QEMU's downtime-limit takes 0..2000 s, virsh refuses values under 1. */
export const SetMaxDowntimeRequest = z.object({ ms: z.number().int().min(1).max(2_000_000) }).strict();

export const JobSpeed = z.object({
  job: z.string(),
  vm: z.string(),
  /** null: no cap. */
  bandwidthMiBs: z.number().nullable(),
  maxDowntimeMs: z.number(),
});
export type JobSpeed = z.infer<typeof JobSpeed>;
