// Volumes of a block pool: exactly the devices it lists, each named by its basename
// (/dev/loop5 -> `loop5`, /dev/vg0/lv001 -> `lv001`), always raw, as large as the device
// and fully allocated. vmhop never probes a device's format: a guest owns its content.
import { basename } from 'node:path';
import type { VolumeInfo } from '../../protocol/storage.js';
import { blockDeviceSize } from './block-device.js';
import type { BlockPoolDef } from './pool-store.js';
import { volumeNotFound } from './storage-errors.js';

export function blockVolumeNames(def: BlockPoolDef): string[] {
  return def.devices.map((d) => basename(d));
}

export function blockVolumeDevice(def: BlockPoolDef, name: string): string {
  const device = def.devices.find((d) => basename(d) === name);
  if (device === undefined) throw volumeNotFound(def.name, name, blockVolumeNames(def));
  return device;
}

export async function blockVolumeInfo(def: BlockPoolDef, name: string): Promise<VolumeInfo> {
  const path = blockVolumeDevice(def, name);
  const size = await blockDeviceSize(path);
  return {
    pool: def.name,
    name,
    path,
    format: 'raw',
    virtualSizeBytes: size,
    allocatedBytes: size,
    backingChain: [],
  };
}
