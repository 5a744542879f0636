// The agent's storage service: pools (dir, shared, block) and their volumes, as the HTTP
// routes, the libvirt XML importer, the argv builder and the migration engine use them.
// It looks pools up in a PoolStore and dispatches by pool kind; the work lives in the
// pool-* and volume-* modules. Whether a VM uses a volume is the caller's question.
import type { z } from 'zod';
import type { PoolInfo, VolumeCreate, VolumeInfo } from '../../protocol/storage.js';
import { VmhopError } from '../../protocol/errors.js';
import { blockVolumeDevice, blockVolumeInfo } from './block-volumes.js';
import { existingVolumePath, fileVolumeInfo, fileVolumeNames } from './file-volumes.js';
import { listPools, listVolumes, type PoolListing, type VolumeListing } from './listing.js';
import { definePool } from './pool-define.js';
import { describePool } from './pool-info.js';
import { readMarker } from './pool-marker.js';
import { volumePath } from './pool-paths.js';
import * as probe from './pool-probe.js';
import { isFilePool, type FilePoolDef, type PoolStore } from './pool-store.js';
import { findByPath, type VolumeRef } from './path-lookup.js';
import { blockPoolDevice, type BlockDeviceRef } from './device-lookup.js';
import { notOnBlockPool, poolNotFound, q } from './storage-errors.js';
import { cloneToFileVolume, type CloneVolumeOpts } from './volume-clone.js';
import { createFileVolume, type CreateVolumeOpts } from './volume-create.js';
import { deleteFileVolume } from './volume-delete.js';
import { resizeFileVolume, type ResizeVolumeOpts } from './volume-resize.js';

type SharedPoolDef = Extract<FilePoolDef, { kind: 'shared' }>;

export class StorageService {
  readonly #store: PoolStore;
  readonly #poolRoots: readonly string[] | undefined;

  /** `poolRoots`: where dir and shared pools may be defined (the agent config's; none given: anywhere). */
  constructor(store: PoolStore, opts: { poolRoots?: readonly string[] } = {}) {
    this.#store = store;
    this.#poolRoots = opts.poolRoots;
  }

  #pool(name: string) {
    const def = this.#store.get(name);
    if (!def)
      throw poolNotFound(
        name,
        this.#store.list().map((p) => p.name),
      );
    return def;
  }

  #filePool(name: string, what: string): FilePoolDef {
    const def = this.#pool(name);
    if (!isFilePool(def)) throw notOnBlockPool(name, what);
    return def;
  }

  #sharedPool(name: string): SharedPoolDef {
    const def = this.#pool(name);
    if (def.kind !== 'shared') {
      throw new VmhopError(
        'VMHOP_ERR_VOLUME_UNSUPPORTED',
        `pool ${q(name)} is a ${def.kind} pool; only a shared pool has an identity marker and same-storage probes`,
        { pool: name, kind: def.kind },
      );
    }
    return def;
  }

  async definePool(input: unknown): Promise<PoolInfo> {
    return describePool(await definePool(this.#store, input, this.#poolRoots));
  }

  async poolInfo(name: string): Promise<PoolInfo> {
    return describePool(this.#pool(name));
  }

  async listPools(): Promise<PoolListing> {
    return listPools(this.#store.list());
  }

  /** Forgets the pool; never deletes a file, a device or a shared pool's marker. */
  async undefinePool(name: string, opts: { force?: boolean } = {}): Promise<void> {
    const def = this.#pool(name);
    // A block pool's volumes are devices vmhop never made: forgetting them removes nothing.
    if (isFilePool(def) && !opts.force) {
      const names = await fileVolumeNames(def).catch(() => []);
      if (names.length > 0) {
        throw new VmhopError(
          'VMHOP_ERR_POOL_IN_USE',
          `pool ${q(name)} holds ${names.length} volume${names.length > 1 ? 's' : ''} (${names.slice(0, 5).map(q).join(', ')}` +
            `${names.length > 5 ? ', ...' : ''}): delete ${names.length > 1 ? 'them' : 'it'} first, or force (the files stay where they are)`,
          { pool: name, volumes: names },
        );
      }
    }
    this.#store.remove(name);
  }

  /** The shared pool's identity as its marker says now; a missing marker means missing storage. */
  async markerId(pool: string): Promise<string> {
    const def = this.#sharedPool(pool);
    const marker = await readMarker(def.path);
    if (!marker) {
      throw new VmhopError(
        'VMHOP_ERR_POOL_INVALID',
        `shared pool ${q(pool)} has no .vmhop-pool marker in ${q(def.path)}: the storage is not mounted ` +
          'there, or is not the storage the pool was defined on; mount it, or undefine and define the pool again',
        { pool, path: def.path },
      );
    }
    return marker.id;
  }

  async writeProbe(pool: string): Promise<{ nonce: string; file: string }> {
    return probe.writeProbe(this.#sharedPool(pool).path);
  }

  async checkProbe(pool: string, nonce: string): Promise<boolean> {
    return probe.checkProbe(this.#sharedPool(pool).path, nonce);
  }

  async removeProbe(pool: string, nonce: string): Promise<void> {
    return probe.removeProbe(this.#sharedPool(pool).path, nonce);
  }

  async listVolumes(pool: string): Promise<VolumeListing> {
    return listVolumes(this.#pool(pool));
  }

  /** `format` pins the format the registry recorded instead of letting qemu-img probe it. */
  async volumeInfo(pool: string, name: string, opts: { format?: 'qcow2' | 'raw' } = {}): Promise<VolumeInfo> {
    const def = this.#pool(pool);
    return isFilePool(def) ? fileVolumeInfo(def, name, opts.format) : blockVolumeInfo(def, name);
  }

  async createVolume(
    pool: string,
    req: z.input<typeof VolumeCreate>,
    opts: CreateVolumeOpts = {},
  ): Promise<VolumeInfo> {
    return createFileVolume(this.#filePool(pool, 'create a volume'), req, opts);
  }

  /** `refuseIfOpen`: also refuse a volume a running QEMU holds open (the API's vol-delete). */
  async deleteVolume(pool: string, name: string, opts: { refuseIfOpen?: boolean } = {}): Promise<void> {
    const def = this.#filePool(pool, 'delete a volume');
    return deleteFileVolume(def, name, this.#store.list().filter(isFilePool), opts);
  }

  async resizeVolume(pool: string, name: string, sizeBytes: number, opts: ResizeVolumeOpts = {}) {
    return resizeFileVolume(this.#filePool(pool, 'resize a volume'), name, sizeBytes, opts);
  }

  /** A full, independent copy; `targetPool` defaults to the source's pool. */
  async cloneVolume(
    pool: string,
    name: string,
    opts: CloneVolumeOpts & { targetPool?: string },
  ): Promise<VolumeInfo> {
    const source = await this.volumeInfo(pool, name);
    const target = this.#filePool(opts.targetPool ?? pool, 'create a volume');
    return cloneToFileVolume(source, this.#pool(pool).kind === 'block', target, opts);
  }

  /**
   * The absolute path QEMU opens for a volume, proven to lie inside its pool. Throws
   * VMHOP_ERR_VOLUME_NOT_FOUND for a missing volume unless `mustExist` is false (the path
   * an incoming migration is about to create).
   */
  async resolvePath(pool: string, volume: string, opts: { mustExist?: boolean } = {}): Promise<string> {
    const def = this.#pool(pool);
    if (!isFilePool(def)) return blockVolumeDevice(def, volume);
    return opts.mustExist === false ? volumePath(def, volume) : existingVolumePath(def, volume);
  }

  async findByPath(absPath: string): Promise<VolumeRef | undefined> {
    return findByPath(this.#store.list(), absPath);
  }

  /** The block-pool device a path names after realpath; VMHOP_ERR_PATH_OUTSIDE_POOL if none. */
  async blockDevice(device: string): Promise<BlockDeviceRef> {
    return blockPoolDevice(this.#store.list(), device);
  }
}
