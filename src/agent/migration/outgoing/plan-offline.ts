// Source, offline copies: what moves for each disk, decided before anything moves. A disk on a
// shared pool the target proves to see (marker + probe file) moves nothing; a file volume
// moves with its backing chain (bases first, each once); a block device is dumped to a raw
// image (zeroes skipped) and that image moves. The plan also gives the target's definition.
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { VmhopError } from '../../../protocol/errors.js';
import type { MigrationOptions } from '../../../protocol/migration.js';
import type { DiskSpec, VmSpec } from '../../../protocol/vm-spec.js';
import type { OfflineItem } from '../../peers/offline-messages.js';
import type { PeerHostInfo, PeerLink } from '../../peers/peer-link.js';
import * as qemuImg from '../../tools/qemu-img.js';
import { fileSha256 } from '../wire/chunks.js';
import type { MigrationContext } from '../context.js';

export interface PlannedItem {
  item: OfflineItem;
  /** The file to read on the source (a block dump: where the dump goes). */
  path: string;
  /** A block device that must be dumped to `path` first. */
  dumpFrom?: string;
  virtualSizeBytes: number;
}

export interface DiskPlan {
  target: string;
  how: 'shared' | 'copy' | 'dump';
  detail: string;
  /** The pool the copy lands in on the target (copy and dump without a device). */
  targetPool?: string;
}

/** `S`: what is moved, a VM's spec or (a volume copy) just its one disk. */
export interface OfflinePlan<S extends Pick<VmSpec, 'disks'> = VmSpec> {
  items: PlannedItem[];
  disks: DiskPlan[];
  spec: S;
  bytes: number;
}

const MIB = 1024 * 1024;
const mib = (n: number) => `${(n / MIB).toFixed(1)} MiB`;

/**
 * Bytes in a file's data extents; `-f raw` on the container itself: holes are never read. The
 * same map gives the chunks sent, and the target requires the two to agree.
 */
export async function fileData(path: string): Promise<number> {
  return qemuImg.dataBytes(await qemuImg.map(path, { format: 'raw' }));
}

export async function fileFingerprint(path: string): Promise<{ fingerprint: string; sizeBytes: number }> {
  const st = await stat(path);
  return { fingerprint: `${st.ino}-${st.size}-${Math.floor(st.mtimeMs)}`, sizeBytes: st.size };
}

/** The target of a copy: its link, its host facts, and the protocol version the job speaks with it. */
export interface CopyTarget {
  link: PeerLink;
  info: PeerHostInfo;
  protocolVersion: number;
}

export async function planOffline<S extends Pick<VmSpec, 'disks'>>(
  c: MigrationContext,
  vm: { name: string; spec: S },
  to: CopyTarget,
  options: MigrationOptions,
  stagingDir: string,
): Promise<OfflinePlan<S>> {
  const { link: peer, info: target } = to;
  const items: PlannedItem[] = [];
  const disks: DiskPlan[] = [];
  const spec: S = { ...vm.spec, disks: [] };
  for (const d of vm.spec.disks) {
    const pool = await c.storage.poolInfo(d.pool);
    if (pool.kind === 'shared' && (await sameStorage(c, to, d.pool, pool.markerId))) {
      disks.push({
        target: d.target,
        how: 'shared',
        detail: `${d.target}: pool \`${d.pool}\` is the same storage on both hosts (marker ${pool.markerId}): only the definition moves`,
      });
      spec.disks.push(d);
      continue;
    }
    const targetPool = options.targetPool ?? (pool.kind === 'block' ? 'default' : d.pool);
    if (pool.kind === 'block') {
      const dev = await c.storage.resolvePath(d.pool, d.volume);
      const vol = await c.storage.volumeInfo(d.pool, d.volume);
      const name = `${d.volume}.img`;
      const path = `${stagingDir}/${name}`;
      const device = options.targetDevice;
      items.push({
        item: {
          key: `${d.pool}/${d.volume}`,
          kind: 'volume',
          pool: targetPool,
          name,
          format: 'raw',
          sizeBytes: vol.virtualSizeBytes,
          dataBytes: vol.virtualSizeBytes,
          fingerprint: 'dump',
          ...(device ? { device } : {}),
        },
        path,
        dumpFrom: dev,
        virtualSizeBytes: vol.virtualSizeBytes,
      });
      spec.disks.push(
        device
          ? { ...d, ...deviceDisk(target, device), format: 'raw' }
          : { ...d, pool: targetPool, volume: name, format: 'raw' },
      );
      disks.push({
        target: d.target,
        how: 'dump',
        targetPool,
        detail: `${d.target}: block device ${dev} (${mib(vol.virtualSizeBytes)}) is dumped with zero regions skipped, then copied ${device ? `onto ${device} of \`${peer.name}\`` : `to \`${peer.name}\`:${targetPool}/${name}`}`,
      });
      continue;
    }
    const vol = await c.storage.volumeInfo(d.pool, d.volume, { format: d.format });
    const layers = [{ path: vol.path, format: vol.format as string }, ...vol.backingChain];
    let backingKey: string | undefined;
    let bytes = 0;
    for (let i = layers.length - 1; i >= 0; i--) {
      const layer = layers[i]!;
      const ref = i === 0 ? { pool: d.pool, volume: d.volume } : await c.storage.findByPath(layer.path);
      if (!ref) {
        throw new VmhopError(
          'VMHOP_ERR_PATH_OUTSIDE_POOL',
          `backing file \`${layer.path}\` of disk ${d.target} lies outside every pool: define its pool to move it`,
          { path: layer.path },
        );
      }
      const key = `${ref.pool}/${ref.volume}`;
      const format = layer.format === 'raw' ? 'raw' : 'qcow2';
      if (!items.some((x) => x.item.key === key)) {
        const fp = await fileFingerprint(layer.path);
        const dataBytes = await fileData(layer.path);
        bytes += dataBytes;
        items.push({
          item: {
            key,
            kind: 'volume',
            pool: options.targetPool ?? ref.pool,
            name: ref.volume,
            format,
            ...fp,
            dataBytes,
            ...(i > 0 ? { contentSha256: await fileSha256(layer.path) } : {}),
            ...(backingKey ? { backingKey } : {}),
          },
          path: layer.path,
          virtualSizeBytes: i === 0 ? vol.virtualSizeBytes : 0,
        });
      }
      backingKey = key;
    }
    spec.disks.push({ ...d, pool: targetPool });
    disks.push({
      target: d.target,
      how: 'copy',
      targetPool,
      detail: `${d.target}: ${d.pool}/${d.volume}${layers.length > 1 ? ` (+${layers.length - 1} backing image${layers.length > 2 ? 's' : ''}, each sent once, not at all if identical there)` : ''} → \`${peer.name}\`:${targetPool}, ${mib(bytes)} of data to copy (virtual ${mib(vol.virtualSizeBytes)})`,
    });
  }
  return { items, disks, spec, bytes: items.reduce((s, x) => s + x.item.dataBytes, 0) };
}

function deviceDisk(target: PeerHostInfo, device: string): Pick<DiskSpec, 'pool' | 'volume'> {
  const pool = target.pools.find((p) => p.kind === 'block' && p.devices?.includes(device));
  if (!pool) {
    throw new VmhopError(
      'VMHOP_ERR_POOL_NOT_FOUND',
      `no block pool on \`${target.name}\` lists ${device}: define one there (vmhop pool-define NAME --block ${device}) first`,
      { device },
    );
  }
  return { pool: pool.name, volume: basename(device) };
}

async function sameStorage(
  c: MigrationContext,
  to: CopyTarget,
  pool: string,
  markerId?: string,
): Promise<boolean> {
  const probe = await c.storage.writeProbe(pool);
  try {
    const seen = await to.link.checkProbe(pool, probe.nonce, to.protocolVersion);
    return seen.seen && seen.markerId === markerId;
  } finally {
    // A probe file left behind is a few bytes named by its nonce; the answer above stands either way.
    await c.storage.removeProbe(pool, probe.nonce).catch(() => undefined);
  }
}
