// What `vmhop host info` and the UI's host page show about one agent's host.
import { z } from 'zod';
import { PoolInfo } from './storage.js';

/**
 * What this host's QEMU offers for migrations, read from it at agent start (query-migrate-capabilities
 * and query-qmp-schema), so the options and the pre-flight decide from both sides' facts instead of
 * from a version number.
 */
export const QemuFeatures = z.object({
  /** Capability names migrate-set-capabilities takes, e.g. `postcopy-preempt`, `dirty-limit`. */
  migrationCapabilities: z.array(z.string()),
  /** Parameter names migrate-set-parameters takes, e.g. `vcpu-dirty-limit`, `multifd-compression`. */
  migrationParameters: z.array(z.string()),
  /** Values of multifd-compression, e.g. `none`, `zlib`, `zstd`. */
  multifdCompression: z.array(z.string()),
  /** The QMP commands vmhop looks for that this QEMU has, e.g. `block-job-change`. */
  commands: z.array(z.string()),
});
export type QemuFeatures = z.infer<typeof QemuFeatures>;

/** The agent's TLS certificate (absent on an insecure agent and from agents before it was added). */
export const CertificateStatus = z.object({
  file: z.string(),
  subject: z.string().optional(),
  /** ISO 8601, UTC. */
  notAfter: z.string().optional(),
  daysLeft: z.number().optional(),
  /** Set when fewer than 30 days remain, it has expired, or the file cannot be read. */
  warning: z.string().optional(),
});
export type CertificateStatus = z.infer<typeof CertificateStatus>;

/** A range of TCP ports on a host's migration address: `first` .. `first + count - 1`. */
export const MigrationPorts = z.object({
  first: z.number().int().min(1).max(65_535),
  count: z.number().int().min(1).max(65_535),
});
export type MigrationPorts = z.infer<typeof MigrationPorts>;

export const HostInfo = z.object({
  name: z.string(),
  agentVersion: z.string(),
  /**
   * The oldest agent-to-agent protocol version this agent speaks: agents before protocol 3 speak
   * only one and require it to equal theirs, so a newer agent names here the one they may share.
   */
  protocolVersion: z.number(),
  url: z.string(),
  /** major.minor.micro, as query-version reports it. */
  qemuVersion: z.string(),
  /** The distribution's package version, e.g. `Debian 1:10.0.2+ds-2+deb13u1~bpo12+1`; empty for a build from source. */
  qemuPackage: z.string(),
  qemuFeatures: QemuFeatures,
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
  /** The TCP ports its migration listeners take (config `migrationPorts`); absent from older agents. */
  migrationPorts: MigrationPorts.optional(),
  certificate: CertificateStatus.optional(),
  /**
   * The agent-to-agent protocol versions this agent speaks (rolling upgrades: protocol-version.ts);
   * absent from agents before protocol 3, which speak only `protocolVersion`.
   */
  protocolVersions: z.object({ min: z.number().int(), max: z.number().int() }).optional(),
  /** Set while the host is drained for maintenance: it accepts no new VMs (creates, incoming migrations). */
  maintenance: z.object({ since: z.string(), reason: z.string() }).optional(),
  /** Cluster mode: the etcd endpoints, whether this host is in touch, and the live members. */
  cluster: z
    .object({ endpoints: z.array(z.string()), inTouch: z.boolean(), members: z.array(z.string()) })
    .optional(),
});
export type HostInfo = z.infer<typeof HostInfo>;

/** The newest agent-to-agent protocol version; its history and the negotiation: protocol-version.ts. */
export { PROTOCOL_VERSION } from './protocol-version.js';
