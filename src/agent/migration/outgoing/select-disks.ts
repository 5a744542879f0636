// Which disks a live-copy migration copies (pure): local ones (dir and block pools), or those
// --migrate-disks names; disks on a shared pool stay where both hosts see them. Also the VM
// spec the target defines, with each copied disk moved to --target-pool when one is given.
import type { DiskSpec, VmSpec } from '../../../protocol/vm-spec.js';
import type { MigrationOptions } from '../../../protocol/migration.js';

export type PoolKind = 'dir' | 'shared' | 'block';

export interface DiskSelection {
  copy: DiskSpec[];
  /** On a shared pool: not copied; the pre-flight proves the target sees the same storage. */
  shared: DiskSpec[];
  problems: { target: string; detail: string; fix: string }[];
}

export function selectDisks(
  disks: readonly DiskSpec[],
  poolKind: (pool: string) => PoolKind | undefined,
  options: Pick<MigrationOptions, 'migrateDisks'>,
): DiskSelection {
  const picked = options.migrateDisks;
  const out: DiskSelection = { copy: [], shared: [], problems: [] };
  for (const name of picked ?? []) {
    if (!disks.some((d) => d.target === name)) {
      out.problems.push({
        target: name,
        detail: `--migrate-disks names ${name}, which the VM does not have (disks: ${disks.map((d) => d.target).join(', ') || 'none'})`,
        fix: 'name only disks of the VM',
      });
    }
  }
  for (const d of disks) {
    const kind = poolKind(d.pool);
    const wanted = picked ? picked.includes(d.target) : kind !== 'shared';
    if (kind === 'shared' && wanted && picked) {
      out.problems.push({
        target: d.target,
        detail: `disk ${d.target} is on the shared pool \`${d.pool}\`: copying it onto itself would destroy it`,
        fix: `leave ${d.target} out of --migrate-disks; the target uses the shared volume as it is`,
      });
    } else if (kind === 'shared') out.shared.push(d);
    else if (wanted) out.copy.push(d);
    else {
      out.problems.push({
        target: d.target,
        detail: `disk ${d.target} is on \`${d.pool}\`, a pool local to this host, and --migrate-disks leaves it out`,
        fix: `add ${d.target} to --migrate-disks, or move its volume to a shared pool`,
      });
    }
  }
  return out;
}

/** The definition the target gets: copied disks live in --target-pool (default: a pool of the same name). */
export function targetSpec(spec: VmSpec, copy: readonly DiskSpec[], targetPool: string | undefined): VmSpec {
  if (!targetPool) return spec;
  const moved = new Set(copy.map((d) => d.target));
  return { ...spec, disks: spec.disks.map((d) => (moved.has(d.target) ? { ...d, pool: targetPool } : d)) };
}
