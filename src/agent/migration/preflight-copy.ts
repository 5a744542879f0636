// Pre-flight of a live-copy migration: which disks are copied, and that the target can take
// them: the pool exists there and is not a block pool, the volume name is free, there is room
// for the data, and for --copy-storage inc that the base image is already there (the fix
// names `vmhop vol-copy`). Checks only; nothing is created on either host.
import type { MigrationOptions } from '../../protocol/migration.js';
import type { VmRow } from '../db/vm-store.js';
import type { PeerLink } from '../peers/peer-link.js';
import type { MigrationContext } from './context.js';
import { planDiskCopy } from './outgoing/plan-disk-copy.js';
import type { Add } from './preflight.js';

const MIB = 1024 * 1024;

export async function copyChecks(
  c: MigrationContext,
  vm: VmRow,
  peer: PeerLink,
  options: MigrationOptions,
  add: Add,
): Promise<void> {
  const plan = await planDiskCopy(c, vm.spec, options);
  for (const p of plan.problems) add(`disk-${p.target}`, false, p.detail, p.fix);
  const pools = (await peer.hostInfo()).pools;
  const need = new Map<string, number>();
  for (const d of plan.disks) {
    const pool = pools.find((p) => p.name === d.pool);
    if (!pool || pool.kind === 'block') {
      add(
        `disk-${d.target}`,
        false,
        pool
          ? `pool \`${d.pool}\` on \`${peer.name}\` is a block pool; a copy needs a dir pool`
          : `pool \`${d.pool}\` is not defined on \`${peer.name}\`; pools there: ${pools.map((p) => `\`${p.name}\``).join(', ') || 'none'}`,
        `pass --target-pool with a dir pool of \`${peer.name}\`, or define \`${d.pool}\` there`,
      );
      continue;
    }
    const taken = await peer.volumeInfo(d.pool, d.volume);
    add(
      `disk-${d.target}`,
      !taken,
      taken
        ? `volume \`${d.pool}/${d.volume}\` already exists on \`${peer.name}\``
        : `disk ${d.target} is copied to \`${d.pool}/${d.volume}\` on \`${peer.name}\` (${d.backingVolume ? 'overlay only' : 'whole disk'}, ${Math.ceil(d.dataBytes / MIB)} MiB of data)`,
      `delete it there (vmhop -c ${peer.name} vol-delete ${d.pool}/${d.volume}) or pass --target-pool`,
    );
    need.set(d.pool, (need.get(d.pool) ?? 0) + d.dataBytes);
    if (d.base) {
      const base = await peer.volumeInfo(d.pool, d.base.volume);
      const same = !!base && base.virtualSizeBytes === d.base.virtualSizeBytes;
      add(
        `base-${d.target}`,
        same,
        same
          ? `base \`${d.base.volume}\` of ${d.target} is on \`${peer.name}\` in \`${d.pool}\``
          : base
            ? `base \`${d.pool}/${d.base.volume}\` on \`${peer.name}\` has ${base.virtualSizeBytes} bytes, here ${d.base.virtualSizeBytes}: not the same image`
            : `base \`${d.base.volume}\` of ${d.target} is not in pool \`${d.pool}\` on \`${peer.name}\``,
        `copy it first: vmhop -c ${c.config.name} vol-copy ${d.base.pool}/${d.base.volume} --to ${peer.name} --pool ${d.pool}, or use --copy-storage all`,
      );
    }
  }
  for (const [name, bytes] of need) {
    const free = pools.find((p) => p.name === name)?.freeBytes ?? 0;
    add(
      `space-${name}`,
      free >= bytes,
      `${Math.ceil(bytes / MIB)} MiB of disk data to copy into \`${name}\`, ${Math.floor(free / MIB)} MiB free on \`${peer.name}\``,
      `free space in \`${name}\` on \`${peer.name}\`, or pass --target-pool`,
    );
  }
}
