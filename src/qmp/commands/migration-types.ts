// Types of QEMU 7.2's migration QMP schema (qapi/migration.json) as QEMU 7.2 actually returns
// them: status, capabilities, parameters and the statistics of query-migrate. Names keep QEMU's
// spelling (kebab-case) so a value can be compared with QEMU's docs and logs without translation.

import type { SocketAddress } from './socket-address.js';

export type MigrationStatus =
  | 'none'
  | 'setup'
  | 'cancelling'
  | 'cancelled'
  | 'active'
  | 'postcopy-active'
  | 'postcopy-paused'
  | 'postcopy-recover'
  /** QEMU 9.1 on: a post-copy recovery's setup, before postcopy-recover. */
  | 'postcopy-recover-setup'
  | 'completed'
  | 'failed'
  | 'colo'
  | 'pre-switchover'
  | 'device'
  | 'wait-unplug';

/** Every capability QEMU 7.2 knows; `block` is the deprecated `migrate -b` copy vmhop does not use. */
export type MigrationCapability =
  | 'xbzrle'
  | 'rdma-pin-all'
  | 'auto-converge'
  | 'zero-blocks'
  | 'compress'
  | 'events'
  | 'postcopy-ram'
  | 'x-colo'
  | 'release-ram'
  | 'block'
  | 'return-path'
  | 'pause-before-switchover'
  | 'multifd'
  | 'dirty-bitmaps'
  | 'postcopy-blocktime'
  | 'late-block-activate'
  | 'x-ignore-shared'
  | 'validate-uuid'
  | 'background-snapshot'
  | 'zero-copy-send'
  | 'postcopy-preempt';

export type MigrationCapabilityStatus = { capability: MigrationCapability; state: boolean };

export type MultiFdCompression = 'none' | 'zlib' | 'zstd';

export type BitmapMigrationNodeAlias = {
  'node-name': string;
  alias: string;
  bitmaps: { name: string; alias: string; transform?: { persistent?: boolean } }[];
};

/** Parameters shared by migrate-set-parameters and query-migrate-parameters. Bandwidths in bytes/s, times in ms. */
type MigrationParameterValues = {
  'announce-initial': number;
  'announce-max': number;
  'announce-rounds': number;
  'announce-step': number;
  'compress-level': number;
  'compress-threads': number;
  'compress-wait-thread': boolean;
  'decompress-threads': number;
  'throttle-trigger-threshold': number;
  'cpu-throttle-initial': number;
  'cpu-throttle-increment': number;
  'cpu-throttle-tailslow': boolean;
  'max-bandwidth': number;
  /** Milliseconds; QEMU 7.2 rejects values above 2 000 000. */
  'downtime-limit': number;
  'x-checkpoint-delay': number;
  'block-incremental': boolean;
  'multifd-channels': number;
  'xbzrle-cache-size': number;
  'max-postcopy-bandwidth': number;
  'max-cpu-throttle': number;
  'multifd-compression': MultiFdCompression;
  'multifd-zlib-level': number;
  'multifd-zstd-level': number;
  'block-bitmap-mapping': BitmapMigrationNodeAlias[];
};

/**
 * Arguments of migrate-set-parameters. The tls-* strings are ids of tls-creds / authz objects;
 * `null` or '' turns TLS off. QEMU checks that the object exists only when migration starts.
 */
export type MigrateSetParameters = Partial<MigrationParameterValues> & {
  'tls-creds'?: string | null;
  'tls-hostname'?: string | null;
  'tls-authz'?: string | null;
};

/** Result of query-migrate-parameters; QEMU 7.2 returns every member ('' for unset tls-*). */
export type MigrationParameters = Partial<MigrationParameterValues> & {
  'tls-creds'?: string;
  'tls-hostname'?: string;
  'tls-authz'?: string;
};

export type MigrationStats = {
  transferred: number;
  remaining: number;
  total: number;
  duplicate: number;
  skipped: number;
  normal: number;
  'normal-bytes': number;
  'dirty-pages-rate': number;
  /** Megabits per second. */
  mbps: number;
  'dirty-sync-count': number;
  'postcopy-requests': number;
  'page-size': number;
  'multifd-bytes': number;
  'pages-per-second': number;
  'precopy-bytes': number;
  'downtime-bytes': number;
  'postcopy-bytes': number;
  'dirty-sync-missed-zero-copy': number;
};

export type XbzrleCacheStats = {
  'cache-size': number;
  bytes: number;
  pages: number;
  'cache-miss': number;
  'cache-miss-rate': number;
  'encoding-rate': number;
  overflow: number;
};

export type CompressionStats = {
  pages: number;
  busy: number;
  'busy-rate': number;
  'compressed-size': number;
  'compression-rate': number;
};

/**
 * Result of query-migrate. Before any migration QEMU 7.2 returns `{}` (no status). On the
 * incoming side after migrate-incoming it returns only `socket-address` until the source
 * connects; the incoming side never reports `ram`.
 */
export type MigrationInfo = {
  status?: MigrationStatus;
  ram?: MigrationStats;
  disk?: MigrationStats;
  vfio?: { transferred: number };
  'xbzrle-cache'?: XbzrleCacheStats;
  /** Milliseconds since the migration started. */
  'total-time'?: number;
  'expected-downtime'?: number;
  /** Milliseconds the VM was stopped; includes the time paused at pre-switchover. */
  downtime?: number;
  'setup-time'?: number;
  'cpu-throttle-percentage'?: number;
  'error-desc'?: string;
  'blocked-reasons'?: string[];
  'postcopy-blocktime'?: number;
  'postcopy-vcpu-blocktime'?: number[];
  compression?: CompressionStats;
  'socket-address'?: SocketAddress[];
};
