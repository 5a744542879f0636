// User migration options -> what each side's QEMU is told before `migrate`: the capabilities
// and parameters of QEMU 7.2's migration schema (migrate-set-capabilities/-parameters), per side,
// and the option combinations QEMU 7.2 cannot honour, refused with VMHOP_ERR_MIGRATION_OPTIONS.
// Pure: it applies nothing and does not decide when to switch to post-copy (the engine does).
// Every QEMU fact here was checked against 7.2 by options.qemu.test.ts.

import { VmhopError } from '../../protocol/errors.js';
import type { MigrationOptions } from '../../protocol/migration.js';
import type { MigrationCapabilityStatus, MigrationParameters } from '../../qmp/index.js';

export interface SideSettings {
  capabilities: MigrationCapabilityStatus[];
  parameters: MigrationParameters;
}

export interface MigrationSettings {
  source: SideSettings;
  target: SideSettings;
  /** For the job report: what the user should know about the chosen settings. */
  notes: string[];
}

export interface MigrationSettingsContext {
  /** The tls-creds-x509 object id each agent created for this job, and the name the target's certificate carries. */
  tls?: { credsId: string; hostname: string };
}

/**
 * "No cap" for max-bandwidth, bytes/s. QEMU 7.2 accepts up to SIZE_MAX (2^64-1) but a JS number
 * cannot carry that: JSON.stringify(2 ** 64 - 1) is 18446744073709552000, which QEMU refuses
 * ("Parameter 'max-bandwidth' expects uint64"). 2^53-1 (8 PiB/s) is the largest value that goes
 * out and reads back exactly. QEMU's own default, 128 MiB/s, would throttle any 10 Gbit/s link.
 */
export const unlimitedBandwidthBps = Number.MAX_SAFE_INTEGER;

/** QEMU's default downtime-limit, ms; set explicitly so a retry on the same source QEMU does not inherit an old value. */
export const defaultDowntimeLimitMs = 300;

const MiB = 1024 * 1024;

const cap = (
  capability: MigrationCapabilityStatus['capability'],
  state: boolean,
): MigrationCapabilityStatus => ({
  capability,
  state,
});

/** Throws VMHOP_ERR_MIGRATION_OPTIONS naming every contradiction at once, so one fix round is enough. */
export function planMigrationSettings(
  opts: MigrationOptions,
  ctx: MigrationSettingsContext,
): MigrationSettings {
  const refusals = findRefusals(opts, ctx);
  if (refusals.length > 0) {
    throw new VmhopError('VMHOP_ERR_MIGRATION_OPTIONS', refusals.join('; '), { refusals });
  }
  const multifd = opts.parallel !== undefined;
  const bandwidthBps =
    opts.bandwidthMiBs === undefined ? unlimitedBandwidthBps : Math.round(opts.bandwidthMiBs * MiB);

  // A source QEMU keeps capabilities between attempts (a retry after a failed migration), so every
  // capability vmhop manages is listed with an explicit state, false included.
  const source: SideSettings = {
    capabilities: [
      cap('events', true),
      // Only the source stops at pre-switchover; the target ignores the capability.
      cap('pause-before-switchover', true),
      cap('auto-converge', opts.autoConverge),
      cap('postcopy-ram', opts.postcopy),
      cap('multifd', multifd),
    ],
    parameters: {
      'max-bandwidth': bandwidthBps,
      'downtime-limit': opts.maxDowntimeMs ?? defaultDowntimeLimitMs,
      ...(opts.postcopy ? { 'max-postcopy-bandwidth': bandwidthBps } : {}),
      ...multifdParameters(opts),
      ...tlsParameters(opts, ctx, 'source'),
    },
  };
  // Each side sends MIGRATION events only with its own `events`; postcopy-ram and multifd (with
  // the same channel count and compression) must match or the target fails or the source hangs.
  const target: SideSettings = {
    capabilities: [cap('events', true), cap('postcopy-ram', opts.postcopy), cap('multifd', multifd)],
    parameters: { ...multifdParameters(opts), ...tlsParameters(opts, ctx, 'target') },
  };
  return { source, target, notes: notesFor(opts) };
}

function multifdParameters(opts: MigrationOptions): MigrationParameters {
  if (opts.parallel === undefined) return {};
  return { 'multifd-channels': opts.parallel, 'multifd-compression': opts.compressed ?? 'none' };
}

/** The target checks the source's certificate against its CA; only the source checks a hostname. */
function tlsParameters(
  opts: MigrationOptions,
  ctx: MigrationSettingsContext,
  side: 'source' | 'target',
): MigrationParameters {
  const creds = opts.insecure || !ctx.tls ? '' : ctx.tls.credsId;
  if (side === 'target') return { 'tls-creds': creds };
  return { 'tls-creds': creds, 'tls-hostname': opts.insecure || !ctx.tls ? '' : ctx.tls.hostname };
}

function findRefusals(opts: MigrationOptions, ctx: MigrationSettingsContext): string[] {
  const refusals: string[] = [];
  if (opts.postcopy && opts.parallel !== undefined) {
    // QEMU 7.2 accepts postcopy-ram + multifd on both sides, but after migrate-start-postcopy the
    // target aborts ("../../util/yank.c:107: yank_unregister_instance: Assertion
    // `QLIST_EMPTY(&entry->yankfns)' failed.") while the source reports `completed`: the VM would
    // run nowhere. Later QEMUs refuse the pair ("Postcopy is not yet compatible with multifd").
    refusals.push(
      `--postcopy cannot be combined with --parallel ${opts.parallel}: QEMU 7.2 cannot switch a multifd ` +
        'migration to post-copy (the target QEMU aborts); drop --parallel or drop --postcopy',
    );
  }
  if (opts.compressed === 'zlib') {
    // Found on QEMU 7.2 in the test bed: zlib-compressed multifd migrations that QEMU reported as
    // completed left the guest's RAM corrupted on the target (kernel panic, or a hang) in 4 of 10,
    // while 20 zstd and 10 uncompressed multifd migrations of the same guest in a row were clean.
    refusals.push(
      '--compressed zlib: QEMU 7.2 corrupted the guest memory of zlib-compressed multifd migrations ' +
        'in vmhop tests (the guest panicked or hung on the target); use --compressed zstd, or drop --compressed',
    );
  }
  if (opts.compressed !== undefined && opts.parallel === undefined) {
    // QEMU takes multifd-compression without multifd and silently sends the RAM uncompressed.
    refusals.push(
      `--compressed ${opts.compressed} needs --parallel: QEMU compresses only multifd channels; ` +
        'add --parallel N (e.g. --parallel 2) or drop --compressed',
    );
  }
  if (opts.postcopyAfterPrecopy && !opts.postcopy) {
    // QEMU: "Enable postcopy with migrate_set_capability before the start of migration".
    refusals.push(
      '--postcopy-after-precopy needs --postcopy: QEMU can switch to post-copy only when postcopy-ram ' +
        'was set on both sides before the migration started; add --postcopy or drop --postcopy-after-precopy',
    );
  }
  if (opts.timeoutAction === 'postcopy' && !opts.postcopy) {
    refusals.push(
      '--timeout-action postcopy needs --postcopy: QEMU can switch to post-copy only when postcopy-ram ' +
        'was set on both sides before the migration started; add --postcopy or use --timeout-action abort or suspend',
    );
  }
  if (!opts.insecure && !ctx.tls) {
    // Secure by default: never fall back to plaintext because a certificate is missing.
    refusals.push(
      'the RAM stream is encrypted by default but this agent has no TLS credentials for migration; ' +
        'issue the host certificates (vmhop ca) or pass --insecure to send RAM in plaintext',
    );
  }
  return refusals;
}

function notesFor(opts: MigrationOptions): string[] {
  const notes: string[] = [];
  if (opts.insecure) notes.push('RAM stream is not encrypted (--insecure)');
  if (opts.postcopy) {
    notes.push(
      opts.postcopyAfterPrecopy
        ? 'switches to post-copy after the first full RAM pass'
        : 'may switch to post-copy (on --timeout-action postcopy or on request)',
    );
    notes.push(
      'after a switch to post-copy the VM runs on the target while part of its RAM is still on the source: a cut link is recovered, but losing either host loses the VM',
    );
  }
  if (opts.compressed)
    notes.push(`multifd channels are ${opts.compressed}-compressed: costs CPU on both hosts`);
  return notes;
}
