// Pre-flight of an offline migration: the plan (what moves, how many bytes, per disk) and
// whether it fits: each target pool exists there and has room for the data, so a copy that
// cannot finish is refused before a byte is sent. Nothing is changed on either host.
import type { MigrationOptions } from '../../protocol/migration.js';
import type { VmRow } from '../db/vm-store.js';
import type { PeerLink } from '../peers/peer-link.js';
import type { MigrationContext } from './context.js';
import { planOffline } from './outgoing/plan-offline.js';

type Add = (name: string, ok: boolean, detail: string, fix?: string) => void;
const MIB = 1024 * 1024;

export async function offlineChecks(
  c: MigrationContext,
  vm: VmRow,
  peer: PeerLink,
  protocolVersion: number,
  options: MigrationOptions,
  add: Add,
): Promise<void> {
  const target = await peer.hostInfo();
  let plan;
  try {
    plan = await planOffline(
      c,
      vm,
      { link: peer, info: target, protocolVersion },
      options,
      `${c.config.dataDir}/offline/preflight`,
    );
  } catch (e) {
    add('plan', false, (e as Error).message, 'fix the disk named in the message');
    return;
  }
  for (const d of plan.disks) add(`disk-${d.target}`, true, d.detail);
  const need = new Map<string, number>();
  for (const p of plan.items) {
    if (p.item.pool) need.set(p.item.pool, (need.get(p.item.pool) ?? 0) + p.item.dataBytes);
  }
  for (const [pool, bytes] of need) {
    const info = target.pools.find((x) => x.name === pool);
    if (!info) {
      add(
        `target-pool-${pool}`,
        false,
        `pool \`${pool}\` is not defined on \`${peer.name}\`; pools there: ${target.pools.map((x) => x.name).join(', ')}`,
        'define it there, or pick one with --target-pool',
      );
      continue;
    }
    add(
      `target-space-${pool}`,
      info.freeBytes >= bytes,
      `${(bytes / MIB).toFixed(1)} MiB of data to copy into \`${peer.name}\`:${pool}, ${(info.freeBytes / MIB).toFixed(1)} MiB free there`,
      `free space in \`${pool}\` on \`${peer.name}\`, or pick a larger pool with --target-pool`,
    );
  }
  add(
    'plan-bytes',
    true,
    `${plan.items.length} file(s) to copy, ${(plan.bytes / MIB).toFixed(1)} MiB of data in total`,
  );
}
