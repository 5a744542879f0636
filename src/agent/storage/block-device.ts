// Facts about one block device (partition, logical volume, loop device): whether a path is
// one, and its size. The size comes from sysfs (/sys/class/block/<kernel name>/size, in
// 512-byte sectors whatever the device's block size), with `blockdev --getsize64` as the
// fallback where sysfs is not mounted.
import { readFile, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { VmhopError } from '../../protocol/errors.js';

export async function isBlockDevice(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isBlockDevice();
  } catch {
    return false;
  }
}

export async function blockDeviceSize(path: string): Promise<number> {
  // /dev/vg0/lv0 is a link to /dev/dm-3; sysfs knows the kernel name only.
  const kernelName = basename(await realpath(path));
  try {
    const sectors = await readFile(`/sys/class/block/${kernelName}/size`, 'utf8');
    return Number(sectors.trim()) * 512;
  } catch {
    const { execa } = await import('execa');
    const r = await execa('blockdev', ['--getsize64', path], { reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) {
      throw new VmhopError(
        'VMHOP_ERR_COMMAND_FAILED',
        `\`blockdev --getsize64 ${path}\` failed (exit ${r.exitCode}): ${r.stderr.trim()}`,
        { command: ['blockdev', '--getsize64', path], exitCode: r.exitCode, stderr: r.stderr },
      );
    }
    return Number(r.stdout.trim());
  }
}
