// Whether the host itself uses a block device: mounted (the device or one of its partitions,
// as this agent's mount namespace sees it), active swap, or held by another device (an LVM
// physical volume, dm-crypt, md RAID member). A block pool over such a device would give a
// client token the host's own disk to read through a VM or overwrite with an offline copy.
import { readdir, readFile, realpath } from 'node:fs/promises';
import { basename } from 'node:path';

const sysBlock = (name: string) => `/sys/class/block/${name}`;

async function readOr(path: string, fallback: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => fallback);
}

/** The kernel name of the device and of each of its partitions (sda, sda1, sda2, ...). */
async function selfAndPartitions(name: string): Promise<string[]> {
  const entries = await readdir(sysBlock(name)).catch(() => [] as string[]);
  const parts: string[] = [];
  for (const e of entries) {
    if (e.startsWith(name) && (await readOr(`${sysBlock(name)}/${e}/partition`, '')) !== '') parts.push(e);
  }
  return [name, ...parts];
}

/**
 * Why the host uses `device` (after realpath), or undefined when it does not. Reads
 * /proc/self/mountinfo, /proc/swaps and sysfs `holders`; what cannot be read counts as unused.
 */
export async function hostUseOf(device: string): Promise<string | undefined> {
  const real = await realpath(device);
  const names = await selfAndPartitions(basename(real));
  const numbers = new Map<string, string>();
  for (const n of names) {
    const dev = (await readOr(`${sysBlock(n)}/dev`, '')).trim();
    if (dev) numbers.set(dev, n);
  }
  for (const line of (await readOr('/proc/self/mountinfo', '')).split('\n')) {
    const f = line.split(' ');
    const n = numbers.get(f[2] ?? '');
    if (n !== undefined) return `/dev/${n} is mounted at ${f[4]}`;
  }
  for (const line of (await readOr('/proc/swaps', '')).split('\n').slice(1)) {
    const file = line.split(/\s+/)[0];
    if (!file) continue;
    const swapReal = await realpath(file).catch(() => file);
    if (names.includes(basename(swapReal)) && swapReal.startsWith('/dev/'))
      return `${swapReal} is in use as swap`;
  }
  for (const n of names) {
    const holders = await readdir(`${sysBlock(n)}/holders`).catch(() => [] as string[]);
    if (holders.length)
      return `/dev/${n} is held by ${holders.map((h) => `/dev/${h}`).join(', ')} (LVM, dm-crypt or RAID)`;
  }
  return undefined;
}
