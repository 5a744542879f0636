// Migration commands of QEMU 7.2, one function per QMP command: start and watch a migration on the
// source, accept one on the target (`-incoming defer` + migrate-incoming), tune capabilities and
// parameters, and steer the switchover (pause-before-switchover + migrate-continue) and postcopy
// (start, pause, recover). The engine decides when; these only speak QMP.

import type { QmpCommandOptions, QmpExecutor } from '../session.js';
import type {
  MigrateSetParameters,
  MigrationCapabilityStatus,
  MigrationInfo,
  MigrationParameters,
  MigrationStatus,
} from './migration-types.js';

/**
 * Arguments of `migrate`. `uri` is e.g. `unix:/path`, `tcp:host:port`, `fd:name`. The deprecated
 * `blk`/`inc` block migration flags are left out on purpose: vmhop copies disks with NBD + mirror.
 * `resume: true` restarts a paused postcopy on a new channel (after migrate-recover on the target).
 */
export type MigrateArgs = { uri: string; resume?: boolean };

export function queryMigrate(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<MigrationInfo> {
  return qmp.execute<MigrationInfo>('query-migrate', undefined, options);
}

/** Returns as soon as the migration thread starts; a bad address shows up as status `failed` later. */
export async function migrate(
  qmp: QmpExecutor,
  args: MigrateArgs,
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('migrate', { ...args }, options);
}

/** Target side: starts listening on `uri`; only valid once, in a QEMU started with `-incoming defer`. */
export async function migrateIncoming(
  qmp: QmpExecutor,
  args: { uri: string },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('migrate-incoming', { ...args }, options);
}

export async function migrateSetCapabilities(
  qmp: QmpExecutor,
  args: { capabilities: MigrationCapabilityStatus[] },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('migrate-set-capabilities', { ...args }, options);
}

export async function migrateSetParameters(
  qmp: QmpExecutor,
  args: MigrateSetParameters,
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('migrate-set-parameters', { ...args }, options);
}

export function queryMigrateCapabilities(
  qmp: QmpExecutor,
  options?: QmpCommandOptions,
): Promise<MigrationCapabilityStatus[]> {
  return qmp.execute<MigrationCapabilityStatus[]>('query-migrate-capabilities', undefined, options);
}

export function queryMigrateParameters(
  qmp: QmpExecutor,
  options?: QmpCommandOptions,
): Promise<MigrationParameters> {
  return qmp.execute<MigrationParameters>('query-migrate-parameters', undefined, options);
}

/** Returns at once; the migration goes through `cancelling` to `cancelled` and the source keeps running. */
export async function migrateCancel(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<void> {
  await qmp.execute('migrate_cancel', undefined, options);
}

/** Leaves the paused state named by `state` (in practice `pre-switchover`); fails in any other state. */
export async function migrateContinue(
  qmp: QmpExecutor,
  args: { state: MigrationStatus },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('migrate-continue', { ...args }, options);
}

/** Needs the postcopy-ram capability on both sides before `migrate`. */
export async function migrateStartPostcopy(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<void> {
  await qmp.execute('migrate-start-postcopy', undefined, options);
}

/**
 * Only in `postcopy-active`: cuts the channel, this side goes to `postcopy-paused`. Sent out of
 * band where the session negotiated OOB: a post-copy target's main loop may be blocked on a page.
 */
export async function migratePause(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<void> {
  await qmp.execute('migrate-pause', undefined, { oob: true, ...options });
}

/** Target side, only in `postcopy-paused`: listens on `uri` for the source's `migrate` with `resume: true`. */
export async function migrateRecover(
  qmp: QmpExecutor,
  args: { uri: string },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('migrate-recover', { ...args }, { oob: true, ...options });
}
