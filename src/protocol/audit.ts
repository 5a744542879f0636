// The audit log's contract: who changed what on a host, when, and how it ended. The agent
// appends one entry per state-changing request (and one when a migration job ends); the
// CLI (`vmhop audit`) and the UI read them through GET /v1/audit.
import { z } from 'zod';

/** Token name, peer agent name, `anonymous` (authentication off) or `agent` (the agent itself). */
export const AuditWhoKind = z.enum(['token', 'peer', 'anonymous', 'agent']);

export const AuditEntry = z.object({
  seq: z.number().int(),
  at: z.string(),
  who: z.string(),
  whoKind: AuditWhoKind,
  /** `<object>.<verb>`, e.g. `vm.define`, `pool.undefine`, `migration.start`. */
  action: z.string(),
  /** `vm/NAME`, `pool/NAME`, `volume/POOL/NAME`, `job/ID`, or `-` when the request named none. */
  target: z.string(),
  /** `ok`, or the VMHOP_ERR_* code the request was refused or failed with. */
  outcome: z.string(),
  /** HTTP status of the request; absent for an entry the agent wrote itself (a job's end). */
  status: z.number().int().optional(),
  requestId: z.string().optional(),
  jobId: z.string().optional(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditQuery = z.object({
  /** Only entries at or after this time (ISO 8601). */
  since: z.string().datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
