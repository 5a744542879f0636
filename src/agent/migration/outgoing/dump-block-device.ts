// Source, offline copies of a block device (the article's `dd if=/dev/vg/lv of=lv.img`):
// dumps it to a raw image in the job's staging folder with `qemu-img convert`, which reads
// the device and writes zero regions as holes, so only data crosses the wire afterwards.
// A dump a previous (interrupted) attempt finished is reused: the VM is stopped, the device
// cannot have changed, and a new dump would change the fingerprint and restart the copy.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import * as qemuImg from '../../tools/qemu-img.js';
import { fileFingerprint, type PlannedItem } from './plan-offline.js';

export async function dumpBlockDevices(
  items: PlannedItem[],
  stagingDir: string,
  signal: AbortSignal,
): Promise<void> {
  for (const p of items) {
    if (!p.dumpFrom) continue;
    if (!existsSync(p.path)) {
      await mkdir(stagingDir, { recursive: true, mode: 0o700 });
      const tmp = `${p.path}.tmp`;
      await rm(tmp, { force: true });
      await qemuImg.convert(p.dumpFrom, tmp, { sourceFormat: 'raw', targetFormat: 'raw', signal });
      await rename(tmp, p.path);
    }
    const fp = await fileFingerprint(p.path);
    p.item.fingerprint = fp.fingerprint;
    p.item.sizeBytes = fp.sizeBytes;
    p.item.dataBytes = qemuImg.dataBytes(await qemuImg.map(p.path, { format: 'raw' }));
  }
}
