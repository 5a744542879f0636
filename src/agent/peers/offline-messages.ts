// Agent-to-agent messages of an offline copy (migration or vol-copy): prepare (the target
// makes or finds the partial files and says which chunks it already has: that is resume),
// and commit (verify every file against the source's chunk manifest, put it in place,
// define the VM, restore its state). The bytes themselves go over the data listener.
// Validated as strictly as a client's request: every name that becomes part of a path on the
// target passes the same rule as in the API; device paths are checked again there (realpath).
import { z } from 'zod';
import { VmhopError } from '../../protocol/errors.js';
import { MigrationOptions } from '../../protocol/migration.js';
import { POOL_NAME, VOLUME_NAME } from '../../protocol/storage.js';
import { VM_NAME, VmSpec } from '../../protocol/vm-spec.js';
import { HOST_NAME } from './peer-name.js';

const Sha = z.string().regex(/^[0-9a-f]{64}$/);

export const OfflineItem = z.object({
  /** Unique in the job: `POOL/VOLUME` of the source, or `state` for a saved VM state. */
  key: z.string().min(1).max(200),
  kind: z.enum(['volume', 'state']),
  /** Where it lands on the target (volumes only). */
  pool: z.string().regex(POOL_NAME).optional(),
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
    .max(200)
    .regex(/^\/dev\/[A-Za-z0-9_./-]+$/)
    .refine((d) => !d.split('/').includes('..'), 'a device path has no `..`')
    .optional(),
  /** The key of the item this qcow2 overlay is backed by. */
  backingKey: z.string().max(200).optional(),
});
export type OfflineItem = z.infer<typeof OfflineItem>;

/** A volume copy's job is named `POOL/VOLUME` (never a VM name: those have no slash). */
export function isVolumeJobName(name: string): boolean {
  const [pool, volume, ...rest] = name.split('/');
  return rest.length === 0 && POOL_NAME.test(pool ?? '') && VOLUME_NAME.test(volume ?? '');
}

export const OfflinePrepareRequest = z
  .object({
    protocolVersion: z.number().int(),
    jobId: z.string().uuid(),
    source: z.string().regex(HOST_NAME),
    /** The VM (its name is reserved for the job), or a single volume copy (`POOL/VOLUME`). */
    vm: z.string().max(200),
    volumeCopy: z.boolean().default(false),
    items: z.array(OfflineItem).max(64),
    options: MigrationOptions,
  })
  .superRefine((r, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
    if (r.volumeCopy ? !isVolumeJobName(r.vm) : !VM_NAME.test(r.vm)) {
      issue(['vm'], r.volumeCopy ? 'a volume copy is named POOL/VOLUME' : 'not a VM name');
    }
    const keys = new Set<string>();
    const places = new Set<string>();
    r.items.forEach((item, i) => {
      if (keys.has(item.key)) issue(['items', i, 'key'], `key \`${item.key}\` appears twice`);
      keys.add(item.key);
      if (item.dataBytes > item.sizeBytes)
        issue(['items', i, 'dataBytes'], 'more data than the file is long');
      if (item.kind === 'state') {
        if (r.volumeCopy) issue(['items', i, 'kind'], 'a volume copy carries no VM state');
        if (item.pool !== undefined || item.name !== undefined || item.device !== undefined)
          issue(['items', i], 'a state item lands in the VM save folder, not in a pool');
        if (places.has('state')) issue(['items', i], 'more than one state item');
        places.add('state');
        return;
      }
      if (item.pool === undefined || item.name === undefined) {
        issue(['items', i], 'a volume item names its target pool and volume');
        return;
      }
      const place = `${item.pool}/${item.name}`;
      if (places.has(place)) issue(['items', i, 'name'], `two items land at \`${place}\``);
      places.add(place);
    });
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

/**
 * What an offline commit may carry: its manifests list every data chunk (at most 4 MiB each,
 * fewer bytes where a file's data is fragmented), about 110 bytes of JSON a chunk. 64 MiB holds
 * about half a million chunks, 2 TiB of contiguous data; the source checks its files against
 * this before copying anything (outgoing/manifest-size.ts). Only peer agents reach the route.
 */
export const OFFLINE_COMMIT_BODY_LIMIT = 64 * 1024 * 1024;
/** An upper bound of one chunk's JSON in a manifest (offset and length as integers, SHA-256 hex). */
export const MANIFEST_CHUNK_JSON_BYTES = 128;

export const OfflineCommitRequest = z.object({
  protocolVersion: z.number().int(),
  jobId: z.string().uuid(),
  /** The definition with disks already pointing at the target pools (unset for a vol-copy). */
  spec: VmSpec.optional(),
  manifests: z
    .array(
      z.object({
        key: z.string().max(200),
        chunks: z.array(
          z.object({
            offset: z.number().int().nonnegative(),
            length: z.number().int().positive(),
            sha256: Sha,
          }),
        ),
      }),
    )
    .max(64),
  /** A saved VM state that goes with the disks: restore it after defining the VM. */
  state: z.object({ running: z.boolean(), savedAt: z.string() }).optional(),
});
export type OfflineCommitRequest = z.infer<typeof OfflineCommitRequest>;

/**
 * A peer message checked again where it is used: the routes validate it, but the target's
 * services are also reached through other links (two engines in one process), and a path must
 * never be built from a message that skipped the schema.
 */
export function strictly<T extends z.ZodTypeAny>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data as z.output<T>;
  const issues = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  throw new VmhopError('VMHOP_ERR_USAGE', `invalid peer message: ${issues.join('; ')}`, { issues });
}
