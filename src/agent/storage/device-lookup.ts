// Which block-pool device a device path from another host names: the path is resolved with
// realpath (so `/dev/../etc/x` or a link out of /dev is what it really points at), must be a
// block device, and must be one a block pool of this host lists. The only guard between a
// peer's `device` string and the `qemu-img convert -n` that writes onto it.
import { realpath } from 'node:fs/promises';
import { basename } from 'node:path';
import { VmhopError } from '../../protocol/errors.js';
import { isBlockDevice } from './block-device.js';
import { hostUseOf } from './device-host-use.js';
import type { PoolDef } from '../../protocol/storage.js';
import { hasControlChar, q } from './storage-errors.js';

export interface BlockDeviceRef {
  pool: string;
  volume: string;
  /** The device after realpath: what is written. */
  path: string;
}

export async function blockPoolDevice(pools: readonly PoolDef[], device: string): Promise<BlockDeviceRef> {
  const blockDevices = pools.flatMap((p) => (p.kind === 'block' ? p.devices : []));
  const refuse = (why: string) =>
    new VmhopError(
      'VMHOP_ERR_PATH_OUTSIDE_POOL',
      `device ${q(device)} ${why}; block devices of this host's pools: ${blockDevices.length ? blockDevices.join(', ') : '(none)'}`,
      { device },
    );
  if (!device.startsWith('/dev/') || hasControlChar(device)) throw refuse('is not a path under /dev');
  const real = await realpath(device).catch(() => undefined);
  if (real === undefined) throw refuse('does not exist');
  if (!(await isBlockDevice(real))) throw refuse(`resolves to ${q(real)}, which is not a block device`);
  for (const def of pools) {
    if (def.kind !== 'block') continue;
    for (const d of def.devices) {
      if ((await realpath(d).catch(() => undefined)) !== real) continue;
      // Checked again before anything is written onto it: it may have been mounted since its pool was defined.
      const use = await hostUseOf(real);
      if (use !== undefined) throw refuse(`is in use by this host (${use})`);
      return { pool: def.name, volume: basename(d), path: real };
    }
  }
  throw refuse(
    `(${q(real)}) is in no block pool here: define one with \`vmhop pool-define NAME --kind block --device ${device}\``,
  );
}
