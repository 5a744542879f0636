// Turns a disk's host path into the vmhop pool volume that holds it, through the agent's
// lookup. A path outside every pool is refused with the pool-define command that would fix
// it; relative paths and '.'/'..' segments are refused first, so a lookup that compares
// prefixes cannot be walked out of its pool.
import type { DiskSpec } from '../protocol/vm-spec.js';
import { VmhopError } from '../protocol/errors.js';
import { xmlInvalid, type XmlElement } from './xml-tree.js';

export interface VolumeLookup {
  findVolume(path: string): { pool: string; volume: string } | undefined;
}

/** A disk between reading and naming: `target` is filled in once every vdX is known. */
export interface DiskDraft {
  el: XmlElement;
  /** "disk sda", for messages. */
  name: string;
  path: string;
  dev: string;
  bus: string;
  target: string;
  bootOrder?: number;
  spec: Omit<DiskSpec, 'target' | 'pool' | 'volume'>;
}

/** The finished disks, in the drafts' order; every path outside the pools is named in one error. */
export function resolveVolumes(drafts: DiskDraft[], lookup: VolumeLookup): DiskSpec[] {
  const outside: DiskDraft[] = [];
  const disks = drafts.map((d): DiskSpec => {
    if (!d.path.startsWith('/') || d.path.split('/').some((s) => s === '.' || s === '..')) {
      throw xmlInvalid(`${d.name}: source '${d.path}' must be an absolute path without '.' or '..'`, {
        path: d.path,
      });
    }
    const v = lookup.findVolume(d.path);
    if (!v) outside.push(d);
    return { target: d.target, pool: v?.pool ?? '', volume: v?.volume ?? '', ...d.spec };
  });
  if (outside.length > 0) throw outsidePools(outside);
  return disks;
}

function outsidePools(disks: DiskDraft[]): VmhopError {
  const suggestions = [...new Set(disks.map(poolDefineCommand))];
  const named = disks.map((d) => `${d.name} (${d.path})`).join(', ');
  const verb = disks.length === 1 ? 'lies' : 'lie';
  return new VmhopError(
    'VMHOP_ERR_PATH_OUTSIDE_POOL',
    `${named} ${verb} outside every vmhop pool; define a pool that holds ${disks.length === 1 ? 'it' : 'them'}: ` +
      suggestions.join('; '),
    { disks: disks.map((d) => ({ target: d.dev, path: d.path })), suggestions },
  );
}

function poolDefineCommand(d: DiskDraft): string {
  if (d.el.attrs.type === 'block' || d.path.startsWith('/dev/')) {
    return `vmhop pool-define NAME --kind block --device ${d.path}`;
  }
  const dir = d.path.slice(0, d.path.lastIndexOf('/')) || '/';
  return `vmhop pool-define NAME --kind dir --path ${dir}`;
}
