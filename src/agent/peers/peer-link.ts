// What the migration engine may ask of the other host's agent. The engine sees only this
// interface, so two engines can be joined in a test without HTTP; in the agent it is the
// mutual-TLS HTTP client in http-peer-link.ts. Every message carries PROTOCOL_VERSION.
import { z } from 'zod';
import { MigrationMode, MigrationOptions, type JobInfo } from '../../protocol/migration.js';
import type { HostInfo } from '../../protocol/host.js';
import { VmSpec } from '../../protocol/vm-spec.js';

export const SideSettings = z.object({
  capabilities: z.array(z.object({ capability: z.string(), state: z.boolean() })),
  parameters: z.record(z.string(), z.unknown()),
});
export type SideSettings = z.infer<typeof SideSettings>;

export const PrepareRequest = z.object({
  protocolVersion: z.number().int(),
  jobId: z.string().uuid(),
  mode: MigrationMode,
  source: z.string(),
  spec: VmSpec,
  settings: SideSettings,
  tls: z.boolean(),
  options: MigrationOptions,
});
export type PrepareRequest = z.infer<typeof PrepareRequest>;

export const PrepareReply = z.object({ address: z.string(), port: z.number().int() });
export type PrepareReply = z.infer<typeof PrepareReply>;

export type PeerHostInfo = HostInfo & { bridges: string[]; vmNames: string[] };

export interface PeerLink {
  readonly name: string;
  hostInfo(): Promise<PeerHostInfo>;
  /** Does the peer see the probe file `nonce` in its pool `pool` (same storage)? */
  checkProbe(pool: string, nonce: string): Promise<{ seen: boolean; markerId?: string }>;
  prepare(req: PrepareRequest): Promise<PrepareReply>;
  /** The commit: the target records that it owns the VM, then resumes it. */
  finish(jobId: string): Promise<void>;
  abort(jobId: string, reason: string): Promise<void>;
  job(jobId: string): Promise<JobInfo>;
  close(): Promise<void>;
}
