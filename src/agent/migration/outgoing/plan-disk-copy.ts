// Source, live-copy: what each copied disk becomes on the target (pool, same volume name,
// virtual size and format; for --copy-storage inc the base it must find there) and how much
// data the copy has to move (qemu-img map of the running disk, read with -U). Used by the
// pre-flight and by the mode, so both always agree.
import type { DiskSpec, VmSpec } from '../../../protocol/vm-spec.js';
import type { MigrationOptions } from '../../../protocol/migration.js';
import * as qemuImg from '../../tools/qemu-img.js';
import type { CopiedDisk } from '../../peers/peer-link.js';
import type { MigrationContext } from '../context.js';
import { selectDisks, targetSpec, type DiskSelection } from './select-disks.js';

export interface PlannedDisk extends CopiedDisk {
  source: { pool: string; volume: string; path: string };
  /** Bytes holding data in what the mirror copies (the top layer only for `inc`). */
  dataBytes: number;
  /** `top` whenever the target already holds the rest: a base (inc) or nothing at all (no backing). */
  sync: 'full' | 'top';
  /** For `inc`: the base volume on the source, to be matched by one on the target. */
  base?: { pool: string; volume: string; virtualSizeBytes: number };
}

export interface DiskCopyPlan {
  disks: PlannedDisk[];
  shared: DiskSpec[];
  problems: DiskSelection['problems'];
  spec: VmSpec;
  notes: string[];
}

export async function planDiskCopy(
  c: MigrationContext,
  spec: VmSpec,
  options: MigrationOptions,
): Promise<DiskCopyPlan> {
  const kinds = new Map<string, 'dir' | 'shared' | 'block'>();
  for (const d of spec.disks) {
    // Pre-flight already refused a VM whose pool is missing; a pool that cannot be described now has
    // no kind and is copied like a local one (never taken as shared, which would skip its data).
    const info = await c.storage.poolInfo(d.pool).catch(() => undefined);
    if (info) kinds.set(d.pool, info.kind);
  }
  const sel = selectDisks(spec.disks, (p) => kinds.get(p), options);
  const notes: string[] = [];
  const disks: PlannedDisk[] = [];
  for (const d of sel.copy) {
    const vol = await c.storage.volumeInfo(d.pool, d.volume, { format: d.format });
    const pool = options.targetPool ?? d.pool;
    const backing = vol.backingChain[0];
    const base =
      options.copyStorage === 'inc' && backing ? await c.storage.findByPath(backing.path) : undefined;
    if (options.copyStorage === 'inc' && !base) {
      notes.push(
        backing
          ? `${d.target}: its base ${backing.path} is not a volume of a pool here, so the whole disk was copied`
          : `${d.target}: no backing image, so --copy-storage inc copied the whole disk`,
      );
    }
    const baseInfo = base ? await c.storage.volumeInfo(base.pool, base.volume) : undefined;
    const extents = await qemuImg.map(vol.path, { format: d.format });
    disks.push({
      target: d.target,
      pool,
      volume: d.volume,
      format: d.format,
      sizeBytes: vol.virtualSizeBytes,
      ...(base ? { backingVolume: base.volume } : {}),
      source: { pool: d.pool, volume: d.volume, path: vol.path },
      dataBytes: qemuImg.dataBytes(extents, { topOnly: !!base }),
      // `top` also for a disk without a backing image: the same copy, but QEMU 7.2 then marks only
      // allocated clusters dirty. `full` first zeroes the whole NBD target (it cannot promise
      // zero-init), charging every zero chunk against the --bandwidth cap: 1 GiB at 4 MiB/s took
      // 254 s for 100 MiB of data. The target volume was just created and reads as zeroes.
      sync: base || vol.backingChain.length === 0 ? 'top' : 'full',
      ...(base && baseInfo ? { base: { ...base, virtualSizeBytes: baseInfo.virtualSizeBytes } } : {}),
    });
  }
  return {
    disks,
    shared: sel.shared,
    problems: sel.problems,
    spec: targetSpec(spec, sel.copy, options.targetPool),
    notes,
  };
}

/** What the target needs to know of a planned disk (the peer message carries no source paths). */
export const copiedDisk = (d: PlannedDisk): CopiedDisk => ({
  target: d.target,
  pool: d.pool,
  volume: d.volume,
  format: d.format,
  sizeBytes: d.sizeBytes,
  ...(d.backingVolume ? { backingVolume: d.backingVolume } : {}),
});
