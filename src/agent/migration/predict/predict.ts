// predictMigration: measures what the model needs on the source (dirty rate over two windows,
// non-zero RAM from a pmemsave sample, the link: --bandwidth cap, the target's link probe, or the
// rate of the last live migration to that peer) and returns the Prediction of every way of moving
// (protocol/prediction.ts). The policy layer and the pre-flight call it; predictFrom is the pure
// half for callers that measured themselves. Bounded: about 9 s, the dirty-rate windows (1 s, then
// 8 s), with the RAM sample and the link probe (at most 1 s of stream) run meanwhile; nothing is
// changed on the guest. Admission calls it once per live migration and hands it to the job.
import type {
  JobReport,
  MigrationMode,
  MigrationOptions,
  PreflightCheck,
} from '../../../protocol/migration.js';
import type { FigureSource, Prediction, PredictionInputs } from '../../../protocol/prediction.js';
import type { VmRow } from '../../db/vm-store.js';
import type { PeerLink } from '../../peers/peer-link.js';
import type { MigrationContext } from '../context.js';
import { defaultWindows, measureDirtyRate, quickWindows, type DirtyRateWindows } from './dirty-rate.js';
import { configuredWay, lowerBoundS, predictWays } from './model.js';
import { sampleNonZeroRam } from './non-zero-ram.js';
import { sendLinkProbe, type ProbeResult } from './link-probe.js';

const MiB = 1024 * 1024;
/** QEMU's downtime-limit default, ms. */
const QEMU_DOWNTIME_LIMIT_MS = 300;
/**
 * The pause of a pre-copy switchover with no RAM left to send: the last sync, device state, the
 * target's load and resume, vmhop's commit round trip. Measured in the test bed (QEMU 10.0.2, TCG,
 * 256 MiB test guest, 100 Mbit/s): 270 ms for an idle guest (bench suite, vmhop's pause) and 366 ms
 * for one dirtying 1 MiB/s (443 ms paused, 77 ms of it the predicted last pass).
 */
export const SWITCHOVER_MS = 320;
/**
 * The pause of a switch to post-copy: the commit before the device state moves, then the target
 * runs. Median of eight measured in the test bed's e2e runs (107-203 ms; 689 ms once, a guest
 * dirtying 24 MiB/s).
 */
export const POSTCOPY_SWITCHOVER_MS = 150;

/** The target's prepare (its QEMU started paused, listening) under TCG here; measured with the switchover. */
export const SETUP_MS = 1_500;

export interface PredictRequest {
  c: MigrationContext;
  vm: VmRow;
  peer?: PeerLink;
  /** The protocol version the pre-flight chose with `peer`: its link probe carries it. */
  protocolVersion?: number;
  options: MigrationOptions;
  windows?: DirtyRateWindows;
  /**
   * The short dirty-rate window only (no working set: a pass is assumed to dirty up to the
   * RAM), with the link probe beside it: about 1 s before a move instead of 9 s. Admission
   * measures again without it before it believes a quick prediction that would refuse the move.
   */
  quick?: boolean;
  signal?: AbortSignal;
}

/** The link figure: the --bandwidth cap when it is lower than what is known of the link. */
export function linkFigure(
  options: Pick<MigrationOptions, 'bandwidthMiBs'>,
  known: { bps: number; source: FigureSource } | undefined,
): { bps: number; source: FigureSource } {
  const cap = options.bandwidthMiBs ? options.bandwidthMiBs * MiB : undefined;
  if (cap !== undefined && (!known || cap <= known.bps)) return { bps: cap, source: 'bandwidth-cap' };
  return known ?? { bps: 0, source: 'unknown' };
}

/** Reports of this host's completed live-shared migrations to `peer`, newest first. */
function reportsTo(c: Pick<MigrationContext, 'jobs'>, peer: string): JobReport[] {
  return c.jobs
    .list()
    .filter(
      (j) => j.role === 'source' && j.peer === peer && j.mode === 'live-shared' && j.state === 'completed',
    )
    .flatMap((j) => (j.report ? [j.report] : []));
}

/** The target's prepare as the last migration to it took it, else SETUP_MS. */
export function historySetupMs(c: Pick<MigrationContext, 'jobs'>, peer: string): number {
  return reportsTo(c, peer).find((r) => r.setupMs !== undefined)?.setupMs ?? SETUP_MS;
}

/** RAM bytes/s of the last completed live-shared migration to this peer (its RAM stage only). */
export function historyLinkBps(c: Pick<MigrationContext, 'jobs'>, peer: string): number | undefined {
  const last = reportsTo(c, peer).find(
    (r) => r.ramBytes && r.totalMs && !r.options.bandwidthMiBs && !r.postcopy,
  );
  if (!last?.ramBytes) return undefined;
  const ramMs = last.totalMs - (last.setupMs ?? 0) - (last.downtimeMs ?? 0);
  return ramMs > 0 ? last.ramBytes / (ramMs / 1000) : undefined;
}

/** The pure half: inputs and options to the Prediction. */
export function predictFrom(
  inputs: PredictionInputs,
  options: MigrationOptions,
  at: { at: number; measuredMs: number; notes?: string[] },
): Prediction {
  const ways = predictWays(inputs, options.timeoutS ? { horizonS: options.timeoutS } : {});
  return {
    at: at.at,
    measuredMs: at.measuredMs,
    inputs,
    lowerBoundS: lowerBoundS(inputs),
    ways,
    configured: configuredWay(options, ways),
    notes: at.notes ?? [],
  };
}

/** Measures on the running VM and predicts; undefined when the VM has no QEMU to measure or the link is unknown. */
export async function predictMigration(r: PredictRequest): Promise<Prediction | undefined> {
  const qmp = r.c.supervisor.qmpOf(r.vm.name);
  if (!qmp) return undefined;
  if (!r.options.bandwidthMiBs && !r.peer?.linkProbe && !(r.peer && historyLinkBps(r.c, r.peer.name))) {
    // No way to learn the link: no prediction (see below), so nothing is measured for it.
    r.c.log.warn(
      { vm: r.vm.name },
      'no prediction: no --bandwidth, link probe or earlier migration to the peer',
    );
    return undefined;
  }
  const started = Date.now();
  const notes: string[] = [];
  const ramBytes = r.vm.spec.memoryMiB * MiB;
  // The RAM sample and the link probe run while QEMU measures the dirty rate in its own thread.
  const rating = measureDirtyRate(qmp, {
    ...(r.windows ?? (r.quick ? quickWindows : defaultWindows)),
    ...(r.signal ? { signal: r.signal } : {}),
  });
  let refused = false; // QEMU refused calc-dirty-rate: nothing else is measured then
  rating.catch(() => (refused = true));
  // The monitor answers in order: once this returns, calc-dirty-rate's answer is in.
  await qmp.execute('query-status');
  if (refused) await rating;
  // The sample (QEMU's monitor, local disk) and the probe (the link) side by side: about 0.4 s
  // less before a move than one after the other.
  const [sample, known] = await Promise.all([
    sampleNonZeroRam(qmp, {
      ramBytes,
      machine: r.vm.spec.machine,
      runDir: r.c.vms.runDirOf(r.vm.name),
    }).catch((e: Error) => {
      notes.push(`non-zero RAM not sampled (${e.message}): all RAM counted`);
      return undefined;
    }),
    knownLink(r, notes),
  ]);
  const rate = await rating;
  const link = linkFigure(r.options, known);
  if (link.source === 'unknown') {
    // Without a link figure every way would look stuck, and a policy would refuse a move that may finish.
    r.c.log.warn(
      { vm: r.vm.name, notes },
      'no prediction: the link rate is unknown (no --bandwidth, probe or earlier migration)',
    );
    return undefined;
  }
  const inputs: PredictionInputs = {
    ramBytes,
    nonZeroBytes: sample?.nonZeroBytes ?? ramBytes,
    nonZeroSource: sample ? 'sampled' : 'assumed',
    dirtyRateBps: rate.dirtyRateBps,
    dirtyRateSource: 'measured',
    ...(rate.workingSetBytes !== undefined ? { workingSetBytes: rate.workingSetBytes } : {}),
    linkBps: link.bps,
    linkSource: link.source,
    maxDowntimeMs: r.options.maxDowntimeMs ?? QEMU_DOWNTIME_LIMIT_MS,
    switchoverMs: SWITCHOVER_MS,
    postcopySwitchoverMs: POSTCOPY_SWITCHOVER_MS,
    setupMs: r.peer ? historySetupMs(r.c, r.peer.name) : SETUP_MS,
    compressionRatio: sample?.compressionRatio ?? 1,
  };
  return predictFrom(inputs, r.options, { at: started, measuredMs: Date.now() - started, notes });
}

/** Bounds of the link probe: 1 s or 32 MiB, whichever ends first. */
export const LINK_PROBE = { maxMs: 1_000, maxBytes: 32 * MiB };

/** Streams to a one-time sink the peer opens on its migration address, from ours. */
export async function probeLink(
  c: Pick<MigrationContext, 'migrationAddress'>,
  peer: PeerLink,
  protocolVersion: number,
): Promise<ProbeResult> {
  if (!peer.linkProbe) throw new Error(`the link to \`${peer.name}\` cannot probe`);
  const sink = await peer.linkProbe({
    protocolVersion,
    sourceAddresses: [c.migrationAddress],
    ...LINK_PROBE,
  });
  return sendLinkProbe(sink, { localAddress: c.migrationAddress, ...LINK_PROBE });
}

/** The link as known without the cap: the target's probe (fresh: a link's rate changes), else the last migration to it. */
async function knownLink(
  r: PredictRequest,
  notes: string[],
): Promise<{ bps: number; source: FigureSource } | undefined> {
  const known = r.peer ? historyLinkBps(r.c, r.peer.name) : undefined;
  if (r.peer?.linkProbe && r.protocolVersion !== undefined) {
    try {
      const p = await probeLink(r.c, r.peer, r.protocolVersion);
      if (p.bps > 0) return { bps: p.bps, source: 'measured' };
    } catch (e) {
      notes.push(`link probe to \`${r.peer.name}\` failed (${(e as Error).message})`);
    }
  }
  return known ? { bps: known, source: 'history' } : undefined;
}

/**
 * The pre-flight's prediction of a live migration: none for an offline one, a VM without QEMU or a
 * target that did not answer. A failed measurement is logged and leaves the job without one:
 * the prediction informs, it never stops a migration.
 */
export async function preflightPrediction(
  r: PredictRequest & { mode: MigrationMode; checks: PreflightCheck[] },
): Promise<Prediction | undefined> {
  if (r.mode === 'offline' || r.checks.some((k) => k.name === 'target-reachable' && !k.ok)) return undefined;
  try {
    const p = await predictMigration(r);
    if (p && r.mode === 'live-copy') p.notes.push('the disk copy before the RAM copy is not included');
    return p;
  } catch (e) {
    r.c.log.warn({ vm: r.vm.name, err: (e as Error).message }, 'migration prediction failed');
    return undefined;
  }
}
