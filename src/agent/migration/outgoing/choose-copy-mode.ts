// Source, live-copy: the mirror's copy mode, chosen before blockdev-mirror because QEMU 7.2
// fixes it there (no block-job-change). A guest that writes near the link rate would keep a
// background mirror from ever converging; write-blocking makes each guest write wait for the
// target instead, which converges at the price of guest write latency. Rates in bytes/s.
import { queryBlockstats, type QmpCommandOptions, type QmpExecutor } from '../../../qmp/index.js';

export type CopyMode = 'background' | 'write-blocking';

/** Above this share of the link, a background mirror is judged not to converge in time. */
export const WRITE_BLOCKING_SHARE = 0.5;

export function decideCopyMode(
  writeBps: number,
  linkBps: number | undefined,
): { mode: CopyMode; reason: string } {
  const mib = (b: number) => `${(b / 1048576).toFixed(2)} MiB/s`;
  if (linkBps === undefined) {
    return {
      mode: 'background',
      reason: `guest writes ${mib(writeBps)} and the copy has no --bandwidth cap, so a background mirror keeps up`,
    };
  }
  if (writeBps >= WRITE_BLOCKING_SHARE * linkBps) {
    return {
      mode: 'write-blocking',
      reason: `guest writes ${mib(writeBps)}, at least ${WRITE_BLOCKING_SHARE * 100}% of the ${mib(linkBps)} link: a background mirror would not converge`,
    };
  }
  return {
    mode: 'background',
    reason: `guest writes ${mib(writeBps)}, under ${WRITE_BLOCKING_SHARE * 100}% of the ${mib(linkBps)} link`,
  };
}

/** Bytes the guest has written to these disks since QEMU started. */
export async function writtenBytes(
  qmp: QmpExecutor,
  targets: readonly string[],
  options?: QmpCommandOptions,
): Promise<number> {
  const stats = await queryBlockstats(qmp, {}, options);
  // -device virtio-blk-pci,id=vda: qdev is the device's QOM path, ending in the id.
  return stats
    .filter((s) => targets.some((t) => s.qdev === t || s.qdev?.includes(`/${t}/`)))
    .reduce((sum, s) => sum + s.stats.wr_bytes, 0);
}

/** Guest write rate over the copied disks, from two query-blockstats samples `windowMs` apart. */
export async function measureWriteRate(
  qmp: QmpExecutor,
  targets: readonly string[],
  windowMs = 1_000,
): Promise<number> {
  const t0 = Date.now();
  const before = await writtenBytes(qmp, targets);
  await new Promise((r) => setTimeout(r, windowMs));
  const after = await writtenBytes(qmp, targets);
  return ((after - before) * 1000) / Math.max(1, Date.now() - t0);
}
