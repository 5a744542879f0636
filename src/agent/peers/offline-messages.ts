// Agent-to-agent messages of an offline copy (migration or vol-copy): prepare (the target
// makes or finds the partial files and says which chunks it already has: that is resume),
// and commit (verify every file against the source's chunk manifest, put it in place,
// define the VM, restore its state). The bytes themselves go over the data listener.
import { z } from 'zod';
import { MigrationOptions } from '../../protocol/migration.js';
import { VOLUME_NAME } from '../../protocol/storage.js';
import { VmSpec } from '../../protocol/vm-spec.js';

const Sha = z.string().regex(/^[0-9a-f]{64}$/);

export const OfflineItem = z.object({
  /** Unique in the job: `POOL/VOLUME` of the source, or `state` for a saved VM state. */
  key: z.string().min(1).max(200),
  kind: z.enum(['volume', 'state']),
  /** Where it lands on the target (volumes only). */
  pool: z.string().optional(),
  name: z.string().regex(VOLUME_NAME).optional(),
  format: z.enum(['qcow2', 'raw']),
  /** Length of the file that is copied (the qcow2 container or a raw image), not the virtual size. */
  sizeBytes: z.number().int().nonnegative(),
  dataBytes: z.number().int().nonnegative(),
  /** Changes when the source file changes: a resumed copy of a different file starts over. */
  fingerprint: z.string().max(200),
  /** SHA-256 of the whole file, for backing images: an identical one on the target is not sent. */
  contentSha256: Sha.optional(),
  /** A block-device dump to write onto this device of the target at commit, not keep as a file. */
  device: z
    .string()
    .regex(/^\/dev\/[A-Za-z0-9_./-]+$/)
    .optional(),
  /** The key of the item this qcow2 overlay is backed by. */
  backingKey: z.string().optional(),
});
export type OfflineItem = z.infer<typeof OfflineItem>;

export const OfflinePrepareRequest = z.object({
  protocolVersion: z.number().int(),
  jobId: z.string().uuid(),
  source: z.string(),
  /** The VM (its name is reserved for the job), or a single volume copy. */
  vm: z.string(),
  volumeCopy: z.boolean().default(false),
  items: z.array(OfflineItem).max(64),
  options: MigrationOptions,
});
export type OfflinePrepareRequest = z.infer<typeof OfflinePrepareRequest>;

export const OfflinePrepareReply = z.object({
  address: z.string(),
  port: z.number().int(),
  token: z.string(),
  items: z.array(
    z.object({
      key: z.string(),
      /** present: an identical volume is there already (not ours, never deleted by this job). */
      status: z.enum(['present', 'copy']),
      have: z.array(z.object({ offset: z.number(), length: z.number(), sha256: Sha })),
    }),
  ),
});
export type OfflinePrepareReply = z.infer<typeof OfflinePrepareReply>;

export const OfflineCommitRequest = z.object({
  protocolVersion: z.number().int(),
  jobId: z.string().uuid(),
  /** The definition with disks already pointing at the target pools (unset for a vol-copy). */
  spec: VmSpec.optional(),
  manifests: z.array(
    z.object({
      key: z.string(),
      chunks: z.array(z.object({ offset: z.number(), length: z.number(), sha256: Sha })),
    }),
  ),
  /** A saved VM state that goes with the disks: restore it after defining the VM. */
  state: z.object({ running: z.boolean(), savedAt: z.string() }).optional(),
});
export type OfflineCommitRequest = z.infer<typeof OfflineCommitRequest>;
