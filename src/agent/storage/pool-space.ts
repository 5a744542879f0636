// Capacity, free space and allocation of a pool, as libvirt's pool-info reports them.
// Directory pools: the filesystem holding the directory (statfs); free is what an
// unprivileged writer may use (f_bavail), leaving the root reserve to the host; allocation is
// what the filesystem has in use, other files included. Block pools: the devices' total size,
// all of it allocated (every device is a volume), nothing free.
import { statfs } from 'node:fs/promises';
import { blockDeviceSize } from './block-device.js';

export interface PoolSpace {
  capacityBytes: number;
  freeBytes: number;
  allocationBytes: number;
}

export async function filesystemSpace(dir: string): Promise<PoolSpace> {
  const s = await statfs(dir);
  const capacityBytes = s.blocks * s.bsize;
  return {
    capacityBytes,
    freeBytes: s.bavail * s.bsize,
    allocationBytes: capacityBytes - s.bfree * s.bsize,
  };
}

export async function devicesSpace(devices: readonly string[]): Promise<PoolSpace> {
  const sizes = await Promise.all(devices.map((d) => blockDeviceSize(d)));
  const capacityBytes = sizes.reduce((a, b) => a + b, 0);
  return { capacityBytes, freeBytes: 0, allocationBytes: capacityBytes };
}
