// How much of the guest's RAM is not zero pages, estimated from a sample: QMP `pmemsave` of small
// regions spread over guest physical RAM into one temp file in the VM's run dir, counting zero 4 KiB
// pages. A migration sends a zero page as a 9-byte header, so non-zero RAM is what the first pass
// must move. The non-zero pages are also deflated (level 1, as multifd's zlib default) to estimate
// what compression saves. Reads guest memory only; the temp file is removed.
import { randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { pmemsave, type QmpExecutor } from '../../../qmp/index.js';

const PAGE = 4096;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface RamSample {
  nonZeroBytes: number;
  /** Deflated / raw size of the sampled non-zero pages (1 when there were none). */
  compressionRatio: number;
  sampledBytes: number;
}

export interface SampleOptions {
  regions?: number;
  regionBytes?: number;
  signal?: AbortSignal;
}

/**
 * Guest-physical RAM ranges [start, end) of a PC guest: below 4 GiB up to the machine's low-memory
 * split, the rest from 4 GiB. The first MiB (legacy VGA and ROM windows) is left out.
 */
export function ramRanges(ramBytes: number, machine: string): [number, number][] {
  const q35 = machine.includes('q35');
  const split = q35
    ? ramBytes >= 0xb0000000
      ? 2 * GiB
      : ramBytes
    : ramBytes >= 0xe0000000
      ? 3 * GiB
      : ramBytes;
  const low: [number, number] = [MiB, Math.min(split, ramBytes)];
  return ramBytes > split ? [low, [4 * GiB, 4 * GiB + ramBytes - split]] : [low];
}

/** `count` region starts spread evenly over the ranges, page-aligned. */
export function regionStarts(ranges: [number, number][], count: number, regionBytes: number): number[] {
  const total = ranges.reduce((s, [a, b]) => s + (b - a), 0);
  const step = total / count;
  const starts: number[] = [];
  for (let k = 0; k < count; k++) {
    let offset = Math.floor((k * step) / PAGE) * PAGE;
    for (const [a, b] of ranges) {
      if (offset + regionBytes <= b - a) {
        starts.push(a + offset);
        break;
      }
      offset -= b - a;
      if (offset < 0) break;
    }
  }
  return starts;
}

/** Zero and deflated sizes of the pages in one region. */
function countPages(buf: Buffer): { nonZero: number; raw: number; deflated: number } {
  const kept: Buffer[] = [];
  for (let o = 0; o + PAGE <= buf.length; o += PAGE) {
    const page = buf.subarray(o, o + PAGE);
    if (page.some((b) => b !== 0)) kept.push(page);
  }
  const raw = kept.length * PAGE;
  return {
    nonZero: kept.length,
    raw,
    deflated: raw ? deflateRawSync(Buffer.concat(kept), { level: 1 }).length : 0,
  };
}

export async function sampleNonZeroRam(
  qmp: QmpExecutor,
  vm: { ramBytes: number; machine: string; runDir: string },
  o: SampleOptions = {},
): Promise<RamSample> {
  const regionBytes = o.regionBytes ?? 16 * PAGE;
  const starts = regionStarts(ramRanges(vm.ramBytes, vm.machine), o.regions ?? 256, regionBytes);
  // Its own name: two pre-flights of one VM at once must not read each other's regions.
  const file = join(vm.runDir, `ram-sample-${randomUUID()}.bin`);
  let pages = 0;
  let nonZero = 0;
  let raw = 0;
  let deflated = 0;
  try {
    for (const val of starts) {
      o.signal?.throwIfAborted();
      await pmemsave(qmp, { val, size: regionBytes, filename: file }, { timeoutMs: 2_000 });
      const r = countPages(await readFile(file));
      pages += regionBytes / PAGE;
      nonZero += r.nonZero;
      raw += r.raw;
      deflated += r.deflated;
    }
  } finally {
    await rm(file, { force: true });
  }
  return {
    nonZeroBytes: pages ? Math.round((nonZero / pages) * vm.ramBytes) : vm.ramBytes,
    compressionRatio: raw ? deflated / raw : 1,
    sampledBytes: pages * PAGE,
  };
}
