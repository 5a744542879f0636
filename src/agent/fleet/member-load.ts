// The "free resources" of a host's member record in etcd (docs/fleet-etcd.md, members/<host>):
// when a fresh reading is worth a write. Free memory moves all the time; the record follows it
// only past a share of the total (5 %), or when the VM count changed, so etcd sees few writes.
// Pure; ClusterMode reads and writes.
import type { MemberRecord } from '../cluster/etcd-cluster.js';

/** The share of total memory that free memory must move before the record is written again. */
export const MEMORY_CHANGE_SHARE = 0.05;

type Load = NonNullable<MemberRecord['load']>;

export function loadWorthWriting(
  published: Pick<MemberRecord, 'load' | 'qemu'>,
  now: Pick<MemberRecord, 'load' | 'qemu'>,
  memoryTotalBytes: number,
): boolean {
  if (JSON.stringify(published.qemu) !== JSON.stringify(now.qemu)) return true;
  const [a, b]: (Load | undefined)[] = [published.load, now.load];
  if (!a || !b) return a !== b;
  if (a.vmCount !== b.vmCount) return true;
  return Math.abs(a.memoryFreeBytes - b.memoryFreeBytes) > MEMORY_CHANGE_SHARE * memoryTotalBytes;
}
