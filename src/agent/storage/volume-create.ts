// Creates a volume in a dir or shared pool (virsh vol-create-as): a thin qcow2 or sparse raw
// file, or a qcow2 overlay on another volume of the same pool. The overlay stores its base
// as an absolute path inside the pool: a shared pool is mounted at one path on every host,
// and a copy to another pool path is rebased (qemu-img rebase -u) by whoever copies it.
import { VolumeCreate, type VolumeInfo } from '../../protocol/storage.js';
import { VmhopError } from '../../protocol/errors.js';
import * as qemuImg from '../tools/qemu-img.js';
import { fileVolumeInfo } from './file-volumes.js';
import { lstatOrUndefined, volumePath } from './pool-paths.js';
import type { FilePoolDef } from './pool-store.js';
import { makeExclusive } from './reserved-file.js';
import { assertFits } from './space-check.js';
import { q, volumeExists } from './storage-errors.js';
import { assertVolumeName } from './volume-name.js';

export interface CreateVolumeOpts {
  /** Create even when the volume could outgrow the pool's free space (thin provisioning). */
  allowOvercommit?: boolean;
}

function usage(message: string, details: Record<string, unknown>): VmhopError {
  return new VmhopError('VMHOP_ERR_USAGE', message, details);
}

function parseRequest(input: unknown): VolumeCreate {
  const name = (input as { name?: unknown } | null)?.name;
  // The name check first: its message says which rule broke, zod's only that the regex failed.
  if (typeof name === 'string') assertVolumeName(name);
  const r = VolumeCreate.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || 'volume'}: ${i.message}`).join('; ');
  throw usage(`the volume request is not valid: ${issues}`, { issues: r.error.issues });
}

async function planBacking(def: FilePoolDef, req: VolumeCreate) {
  if (req.backingVolume === undefined) return undefined;
  if (req.format !== 'qcow2') {
    throw usage(`volume ${q(req.name)}: only a qcow2 volume can have a backing volume; use format qcow2`, {
      volume: req.name,
    });
  }
  const base = await fileVolumeInfo(def, req.backingVolume);
  if (req.sizeBytes !== undefined && req.sizeBytes < base.virtualSizeBytes) {
    throw usage(
      `overlay ${q(req.name)} would be smaller than its backing volume ${q(base.name)} and hide its end: ` +
        'leave the size out, or give at least the backing volume size',
      { volume: req.name, sizeBytes: req.sizeBytes, backingSizeBytes: base.virtualSizeBytes },
    );
  }
  return base;
}

export async function createFileVolume(
  def: FilePoolDef,
  input: unknown,
  opts: CreateVolumeOpts = {},
): Promise<VolumeInfo> {
  const req = parseRequest(input);
  const path = await volumePath(def, req.name);
  if (await lstatOrUndefined(path)) throw volumeExists(def.name, req.name);
  const base = await planBacking(def, req);
  const sizeBytes = req.sizeBytes ?? base?.virtualSizeBytes;
  if (sizeBytes === undefined) {
    throw usage(`volume ${q(req.name)} needs a size, or a backing volume to take it from`, {
      volume: req.name,
    });
  }
  if (!opts.allowOvercommit) await assertFits(def, req.name, sizeBytes);
  await makeExclusive(
    path,
    () => volumeExists(def.name, req.name),
    () =>
      qemuImg.create(path, {
        format: req.format,
        sizeBytes,
        ...(base ? { backing: { file: base.path, format: base.format } } : {}),
      }),
  );
  return fileVolumeInfo(def, req.name, req.format);
}
