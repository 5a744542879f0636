// What the migration engine may ask of the other host's agent. The engine sees only this
// interface, so two engines can be joined in a test without HTTP; in the agent it is the
// mutual-TLS HTTP client in http-peer-link.ts. Every message carries the job's protocol version
// (`protocolVersion`: chosen at the pre-flight, protocol-version.ts); reads (GET) carry none.
import { z } from 'zod';
import { MigrationMode, MigrationOptions, type JobInfo } from '../../protocol/migration.js';
import { MigrationPorts, type HostInfo } from '../../protocol/host.js';
import type { LinkProbeReply, LinkProbeRequest } from '../../protocol/prediction.js';
import { POOL_NAME, VOLUME_NAME, type VolumeInfo } from '../../protocol/storage.js';
import { VmSpec } from '../../protocol/vm-spec.js';
import { HOST_NAME } from './peer-name.js';
import type { OfflineCommitRequest, OfflinePrepareReply, OfflinePrepareRequest } from './offline-messages.js';

/**
 * What one side's QEMU is told before `migrate` (migrate-set-capabilities/-parameters): planned by
 * migration/options.ts, sent to the target in its prepare, applied by migration/qemu-settings.ts.
 */
export const SideSettings = z.object({
  capabilities: z.array(z.object({ capability: z.string(), state: z.boolean() })),
  parameters: z.record(z.string(), z.unknown()),
});
export type SideSettings = z.infer<typeof SideSettings>;

/** A disk the target creates and exports over NBD for a live-copy migration (pool/volume on the target). */
export const CopiedDisk = z.object({
  target: z.string().regex(/^vd[a-z]$/),
  pool: z.string().regex(POOL_NAME),
  volume: z.string().regex(VOLUME_NAME),
  format: z.enum(['qcow2', 'raw']),
  sizeBytes: z.number().int().positive(),
  /** Incremental copy: the overlay's base, a volume of the same target pool that must exist there. */
  backingVolume: z.string().regex(VOLUME_NAME).optional(),
});
export type CopiedDisk = z.infer<typeof CopiedDisk>;

export const PrepareRequest = z.object({
  protocolVersion: z.number().int(),
  jobId: z.string().uuid(),
  mode: MigrationMode,
  /** The agent starting the job: peer routes accept this job's later calls only from it. */
  source: z.string().regex(HOST_NAME),
  spec: VmSpec,
  settings: SideSettings,
  tls: z.boolean(),
  options: MigrationOptions,
  /** live-copy: the disks to create and export; the spec already names their target pools. */
  disks: z.array(CopiedDisk).optional(),
  /** The guest ran on the source when the job began; a paused guest stays paused on the target (virsh's way). */
  guestRunning: z.boolean().default(true),
  /** The source host's migration addresses: the target's RAM gate admits connections only from these and the caller. */
  sourceAddresses: z.array(z.string().ip()).max(8).optional(),
  /**
   * How long after the end of the copy the source waits for the commit (its commitAnswerSeconds):
   * a finish the target takes later is refused, since the source may run the VM again by then.
   */
  commitWindowMs: z.number().int().min(1_000).max(3_600_000).optional(),
});
export type PrepareRequest = z.infer<typeof PrepareRequest>;

export const PrepareReply = z.object({
  address: z.string(),
  port: z.number().int(),
  /**
   * The target's migration port range: the source probes the port below it in post-copy to learn
   * whether the link is back. Absent from an older target, which used the default range.
   */
  migrationPorts: MigrationPorts.optional(),
  /** live-copy: the job's NBD server on the migration address and one export per copied disk. */
  nbd: z
    .object({ port: z.number().int(), exports: z.array(z.object({ target: z.string(), name: z.string() })) })
    .optional(),
});
export type PrepareReply = z.infer<typeof PrepareReply>;

/**
 * The target's answer to finish: how long after the request arrived it resumed the guest and how
 * long it took to answer, so the source can place the resume on its own clock (no clock is
 * shared). Absent when the commit was made by an earlier request whose answer was lost.
 */
export const FinishReply = z.object({
  resumedAfterMs: z.number().nonnegative().max(86_400_000).optional(),
  handledMs: z.number().nonnegative().max(86_400_000).optional(),
  /** The target committed (it owns the VM) but could not resume it: why, for the report. */
  resumeError: z.string().max(2_000).optional(),
});
export type FinishReply = z.infer<typeof FinishReply>;

export const PostcopyAction = z.enum(['commit', 'pause', 'recover']);
export type PostcopyAction = z.infer<typeof PostcopyAction>;
/** `recover` answers with the new listener, `commit` with status `committed`, `pause` with nothing. */
export const PostcopyReply = z.object({
  status: z.string().optional(),
  address: z.string().optional(),
  port: z.number().int().optional(),
});
export type PostcopyReply = z.infer<typeof PostcopyReply>;

export type PeerHostInfo = HostInfo & { bridges: string[]; vmNames: string[] };

export interface PeerLink {
  readonly name: string;
  hostInfo(): Promise<PeerHostInfo>;
  /** Does the peer see the probe file `nonce` in its pool `pool` (same storage)? */
  checkProbe(
    pool: string,
    nonce: string,
    protocolVersion: number,
  ): Promise<{ seen: boolean; markerId?: string }>;
  /** A volume of the peer's pool, or undefined when it has none of that name (incremental base check). */
  volumeInfo(pool: string, name: string): Promise<VolumeInfo | undefined>;
  prepare(req: PrepareRequest): Promise<PrepareReply>;
  /** The commit: the target records that it owns the VM, then resumes it. */
  finish(jobId: string, protocolVersion: number): Promise<FinishReply>;
  abort(jobId: string, reason: string, protocolVersion: number): Promise<void>;
  /**
   * Post-copy on the target: `commit` writes "target owns the VM" before the source lets QEMU
   * send the device state (the target may run from then on); `pause` stops its end of a stalled
   * post-copy stream; `recover` listens for the source's resumed stream and says where.
   */
  postcopy(jobId: string, action: PostcopyAction, protocolVersion: number): Promise<PostcopyReply>;
  job(jobId: string): Promise<JobInfo>;
  /** A one-time sink on the peer's migration address for a throughput probe (predict/link-probe.ts); optional: links in tests may lack it. */
  linkProbe?(req: LinkProbeRequest): Promise<LinkProbeReply>;
  /** Offline copies (offline-messages.ts): partial files and the data listener; resume-aware. */
  offlinePrepare(req: OfflinePrepareRequest): Promise<OfflinePrepareReply>;
  offlineCommit(req: OfflineCommitRequest): Promise<void>;
  /** The data link broke: the target keeps the partial files for a resume. */
  offlinePause(jobId: string, reason: string, protocolVersion: number): Promise<void>;
  close(): Promise<void>;
}
