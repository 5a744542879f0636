// What every live-migration peer of the benchmarks reports, in one shape, so the suite can put
// raw QEMU, `virsh migrate` and vmhop side by side: times, the two pauses (the real one from
// QEMU's STOP/RESUME events, the one the tool reports), the client's gap, bytes on the wire,
// the lower bound, and the guest's integrity check. Also the link and workloads they share.
import type { MigrationInfo } from '../src/qmp/index.js';
import { run } from '../src/testbed/exec.js';

export const LINK = { rate: '100mbit', bytesPerS: 100e6 / 8 };
export const MIB = 1048576;

/** A live case: the guest's memory dirtier, a disk with data to copy, and how long a run may take. */
export interface LiveCase {
  /** Names VMs and result rows. */
  name: string;
  memoryMiB: number;
  memMiB?: number;
  memRateMiBs?: number;
  /** Live with storage copy: a 1 GiB qcow2 holding this many bytes. */
  diskDataBytes?: number;
  /** A run still going after this long is cancelled and recorded as not finished. */
  capMs: number;
}

export interface LiveFigures {
  finished: boolean;
  /** Command to completion (or to the cancel at the cap). */
  totalS: number;
  lowerBoundS: number | null;
  ratioToBound: number | null;
  /** Source STOP to target RESUME, both QEMU's event timestamps. */
  realPauseMs: number | null;
  /** The pause the tool itself reports (vmhop's report, libvirt's "Total downtime", QEMU's downtime). */
  downtimeMs: number | null;
  qemuDowntimeMs: number | null;
  clientGapMs: number | null;
  /** What the tool reports it sent (QEMU's or libvirt's counters, vmhop's report). */
  sentMiB: number | null;
  /** What the source put on the migration link (its interface counter), protocol and TLS overhead included. */
  wireMiB?: number | null;
  guestIntact: boolean | null;
  integrity: string;
  notes?: string[];
}

/** Bytes that must cross at least once: RAM that is not zero pages. */
export const nonZeroBytes = (i: MigrationInfo) =>
  i.ram ? i.ram.total - i.ram.duplicate * i.ram['page-size'] : 0;

export const round = (x: number, digits = 2) => +x.toFixed(digits);

/** Lower bound of a move: the bytes that must cross once over the link. */
export function bound(totalMs: number, bytes: number) {
  const lowerBoundS = bytes / LINK.bytesPerS;
  return {
    lowerBoundS: round(lowerBoundS),
    ratioToBound: lowerBoundS > 0 ? round(totalMs / 1000 / lowerBoundS) : null,
  };
}

/** The fields of a run that was cancelled at its cap: no pause, no check of a guest that never moved. */
export function notFinished(
  totalMs: number,
  sentBytes: number | null,
  why: string,
  wireMiB?: number,
): LiveFigures {
  return {
    finished: false,
    totalS: round(totalMs / 1000),
    lowerBoundS: null,
    ratioToBound: null,
    realPauseMs: null,
    downtimeMs: null,
    qemuDowntimeMs: null,
    clientGapMs: null,
    sentMiB: sentBytes === null ? null : round(sentBytes / MIB, 1),
    wireMiB: wireMiB ?? null,
    guestIntact: null,
    integrity: `did not finish: ${why}`,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Bytes host `netns` has sent on its migration link so far (the kernel's counter of `mig0`):
 * the same measure of "bytes on the wire" for every peer, whatever the tool itself reports.
 */
export async function migrationTxBytes(netns: string): Promise<number> {
  const r = await run('ip', ['-n', netns, '-s', '-j', 'link', 'show', 'mig0']);
  const [link] = JSON.parse(r.stdout) as { stats64: { tx: { bytes: number } } }[];
  return link?.stats64.tx.bytes ?? NaN;
}

/** Counts what the source sends on the migration link from now until `done()`. */
export async function countWire(netns = 'vmhop-a') {
  const at0 = await migrationTxBytes(netns);
  return { done: async () => round(((await migrationTxBytes(netns)) - at0) / MIB, 1) };
}
