// Source-side query-migrate samples -> the Progress the API, CLI and UI show: bytes, rates, the
// RAM pass, and an ETA with the reason it says what it says; plus how long nothing has moved, for
// the engine's stall watchdog. Pure: no QMP, no clock (the engine polls and keeps the samples).
// Units are QEMU 7.2's, checked against recordings in test/fixtures/migration-progress.

import type { MigrationOptions, Phase, Progress } from '../../protocol/migration.js';
import type { MigrationInfo, MigrationStats, MigrationStatus } from '../../qmp/index.js';

/**
 * One query-migrate reply from the source and when it arrived (ms, the engine's clock).
 * QEMU 7.2 units: ram.transferred/remaining/total in bytes (`remaining` counts dirty pages times
 * the page size, zero pages included, so it falls faster than bytes go out through zero-page
 * stretches); ram.mbps in megabits (10^6) per second over QEMU's last ~100 ms iteration, and
 * frozen at its last value while the migration thread is blocked; ram['dirty-pages-rate'] in
 * pages/s, measured at each dirty-bitmap sync, so 0 during the first pass; ram['page-size'] in
 * bytes; ram['dirty-sync-count'] = the RAM pass (1 during the first); expected-downtime in ms
 * (the dirty set at the start of the pass over the measured bandwidth; during the first pass it
 * is only the downtime-limit echoed back); cpu-throttle-percentage only once auto-converge throttles.
 */
export interface Sample {
  at: number;
  info: MigrationInfo;
}

export interface ProgressContext {
  phase: Phase;
  /** Defaults to what the migration status says (ramStageOf); the engine says `disks` while mirrors run. */
  stage?: Progress['stage'];
  /** When the job started, ms, same clock as Sample.at. */
  startedAt: number;
  disks?: Progress['disks'];
  /** From stalledForMs(samples); without it a stall is as long as the interval prev..cur. */
  stalledMs?: number;
  /** What the job already uses, so the advice for a non-converging migration does not suggest it again. */
  options?: Partial<Pick<MigrationOptions, 'autoConverge' | 'postcopy'>>;
}

/**
 * The rate is measured over at least this long, ms. QEMU's rate limit works in 100 ms slices, so
 * 250 ms samples alternate between ~6.4 and ~9.6 MiB/s on an 8 MiB/s cap; a 1 s window is steady.
 */
export const rateWindowMs = 1000;

/**
 * A guest whose writes cover fewer pages than one pass sends shows a measured dirty rate just
 * under the link rate (pages dirtied per pass / pass time), and each pass starts as large as the
 * last. Within 10% of the link rate the passes do not shrink in any useful time (and 250 ms
 * jitter would flip the verdict on every sample): call it not converging.
 */
export const convergenceRatio = 0.9;

/** QEMU sends in 100 ms slices: half a second without a byte is a stall, not jitter. */
export const stallShownAfterMs = 500;

const MiB = 1024 * 1024;

/** The source's vCPUs are stopped: QEMU keeps repeating the last dirty-rate measurement. */
const GUEST_STOPPED: ReadonlySet<MigrationStatus | undefined> = new Set([
  'pre-switchover',
  'device',
  'postcopy-active',
  'postcopy-paused',
  'postcopy-recover',
  'completed',
]);

/** Progress from the last sample, its rate measured against the newest sample at least rateWindowMs older. */
export function progressOf(samples: readonly Sample[], ctx: ProgressContext): Progress {
  const cur = samples.at(-1);
  if (!cur) throw new RangeError('progressOf needs at least one sample');
  return progressFrom(previousForRate(samples), cur, { stalledMs: stalledForMs(samples), ...ctx });
}

export function progressFrom(prev: Sample | undefined, cur: Sample, ctx: ProgressContext): Progress {
  // A cancelled or failed reply carries no `ram`: keep the last counters rather than show zeros.
  const ram = cur.info.ram ?? prev?.info.ram;
  const rateBps = rateOf(prev, cur);
  const dirtyRateBps =
    ram && !GUEST_STOPPED.has(cur.info.status) ? ram['dirty-pages-rate'] * ram['page-size'] : 0;
  const pass = ram?.['dirty-sync-count'] ?? 0;
  const expected = cur.info['expected-downtime'];
  const stalledMs = ctx.stalledMs ?? (prev && rateBps === 0 ? cur.at - prev.at : 0);
  const { etaS, etaReason } = eta(cur, ram, rateBps, dirtyRateBps, { ...ctx, stalledMs });
  return {
    phase: ctx.phase,
    stage: ctx.stage ?? ramStageOf(cur.info),
    ramTotalBytes: ram?.total ?? 0,
    ramTransferredBytes: ram?.transferred ?? 0,
    ramRemainingBytes: ram?.remaining ?? 0,
    rateBps: Math.round(rateBps),
    dirtyRateBps,
    pass,
    ...(expected !== undefined && pass > 1 ? { expectedDowntimeMs: expected } : {}),
    etaS,
    etaReason,
    disks: ctx.disks ?? [],
    elapsedMs: cur.at - ctx.startedAt,
  };
}

/** The stage a source's migration status stands for; `completed` still leaves the target to resume. */
export function ramStageOf(info: MigrationInfo): Progress['stage'] {
  switch (info.status) {
    case undefined:
    case 'none':
    case 'setup':
      return 'setup';
    case 'pre-switchover':
    case 'device':
      return 'switchover';
    case 'postcopy-active':
    case 'postcopy-paused':
    case 'postcopy-recover':
      return 'postcopy';
    case 'completed':
      return 'finishing';
    default:
      return 'ram';
  }
}

/** The newest sample at least windowMs older than the last one (else the oldest); undefined with one sample. */
export function previousForRate(samples: readonly Sample[], windowMs = rateWindowMs): Sample | undefined {
  const last = samples.at(-1);
  if (!last || samples.length < 2) return undefined;
  for (let i = samples.length - 2; i >= 0; i--) {
    const s = samples[i];
    if (s && last.at - s.at >= windowMs) return s;
  }
  return samples[0];
}

/** States in which bytes should be moving; pre-switchover waits for the engine, not for the link. */
const MOVING: ReadonlySet<MigrationStatus | undefined> = new Set([
  'setup',
  'active',
  'postcopy-active',
  'device',
]);

/**
 * How long, ms, ram.transferred has not grown, counted from the first sample that showed the
 * current value (a lower bound: the watchdog must not cancel early). 0 when the last sample is
 * not in a moving state. A QEMU stuck in `setup` (no `ram` yet) counts as stalled.
 */
export function stalledForMs(samples: readonly Sample[]): number {
  const last = samples.at(-1);
  if (!last || !MOVING.has(last.info.status)) return 0;
  const bytes = (s: Sample) => s.info.ram?.transferred ?? -1;
  let since = last;
  for (let i = samples.length - 2; i >= 0; i--) {
    const s = samples[i];
    if (!s || !MOVING.has(s.info.status) || bytes(s) !== bytes(last)) break;
    since = s;
  }
  return last.at - since.at;
}

/** Bytes/s between the two samples; QEMU's own mbps when there is no earlier sample to compare with. */
function rateOf(prev: Sample | undefined, cur: Sample): number {
  const now = cur.info.ram;
  const before = prev?.info.ram;
  if (!now) return 0;
  if (!prev || !before || cur.at <= prev.at) return (now.mbps * 1e6) / 8;
  return Math.max(0, ((now.transferred - before.transferred) * 1000) / (cur.at - prev.at));
}

type Eta = { etaS: number | null; etaReason: string };

function eta(
  cur: Sample,
  ram: MigrationStats | undefined,
  rateBps: number,
  dirtyBps: number,
  ctx: ProgressContext,
): Eta {
  const info = cur.info;
  const remaining = ram?.remaining ?? 0;
  switch (info.status) {
    case undefined:
    case 'none':
    case 'setup':
      return { etaS: null, etaReason: 'setting up: connecting to the target' };
    case 'active':
      return activeEta(info, remaining, rateBps, dirtyBps, ctx);
    case 'pre-switchover':
    case 'device': {
      // The rate is 0 while QEMU waits for migrate-continue; QEMU's last bandwidth is the one that will apply.
      const link = ram ? (ram.mbps * 1e6) / 8 : 0;
      const what =
        info.status === 'device' ? 'sending the last RAM and the device state' : 'waiting to switch over';
      return {
        etaS: link > 0 ? seconds(remaining / link) : null,
        etaReason: `switchover: guest paused, ${what} (${mib(remaining)} MiB left)`,
      };
    }
    case 'postcopy-active':
      return {
        etaS: rateBps > 0 ? seconds(remaining / rateBps) : null,
        etaReason: `post-copy: the VM runs on the target, pulling the last ${mib(remaining)} MiB at ${mibs(rateBps)}`,
      };
    case 'postcopy-paused':
      return {
        etaS: null,
        etaReason: 'post-copy paused: the link to the target broke; the VM waits there for recovery',
      };
    case 'postcopy-recover-setup':
    case 'postcopy-recover':
      return { etaS: null, etaReason: 'post-copy recovering: reconnecting to the target' };
    case 'completed':
      return { etaS: 0, etaReason: 'completed' };
    case 'cancelling':
    case 'cancelled':
      return { etaS: null, etaReason: info.status };
    case 'failed':
      return { etaS: null, etaReason: `failed: ${info['error-desc'] ?? 'QEMU gave no reason'}` };
    case 'wait-unplug':
      return { etaS: null, etaReason: 'waiting for the guest to unplug its failover devices' };
    case 'colo':
      return { etaS: null, etaReason: 'COLO checkpointing' };
  }
}

function activeEta(
  info: MigrationInfo,
  remaining: number,
  rate: number,
  dirty: number,
  ctx: ProgressContext,
): Eta {
  const pass = info.ram?.['dirty-sync-count'] ?? 1;
  if (rate === 0 || (ctx.stalledMs ?? 0) >= stallShownAfterMs) {
    const stalledS = (ctx.stalledMs ?? 0) / 1000;
    return {
      etaS: null,
      etaReason: `stalled: no bytes moved for ${stalledS < 10 ? stalledS.toFixed(1) : Math.round(stalledS)} s`,
    };
  }
  if (pass <= 1) {
    return { etaS: seconds(remaining / rate), etaReason: `first pass: copying all RAM at ${mibs(rate)}` };
  }
  const throttle = info['cpu-throttle-percentage'];
  const throttled = throttle ? ` (throttled ${throttle}%)` : '';
  if (dirty >= rate * convergenceRatio) {
    const tries = [
      ...(ctx.options?.autoConverge || throttle ? [] : ['--auto-converge']),
      ...(ctx.options?.postcopy ? [] : ['--postcopy']),
      'a higher --bandwidth',
    ];
    const advice = `try ${tries.slice(0, -1).join(', ')}${tries.length > 1 ? ' or ' : ''}${tries.at(-1)}`;
    return {
      etaS: null,
      etaReason: `not converging: the guest dirties ${mibs(dirty)}${throttled}, the link moves ${mibs(rate)} (${advice})`,
    };
  }
  // Each pass resends what the last one let the guest dirty: remaining * (1 + d/r + (d/r)^2 + ...) / r.
  return {
    etaS: seconds(remaining / (rate - dirty)),
    etaReason: `pass ${pass}: dirtied at ${mibs(dirty)}${throttled}, sent at ${mibs(rate)}`,
  };
}

const seconds = (s: number): number => Math.ceil(s);
const mib = (bytes: number): string => (bytes / MiB).toFixed(1);
const mibs = (bps: number): string => `${mib(bps)} MiB/s`;
