// Checks a volume name before it comes near a path: a volume is one file directly inside its
// pool, so a name can hold no '/', no '..', no control character, no leading dot (the pool's
// own .vmhop-* files). Each refusal says which rule broke and what a valid name looks like.
import { VOLUME_NAME } from '../../protocol/storage.js';
import { VmhopError } from '../../protocol/errors.js';
import { hasControlChar, q } from './storage-errors.js';

export const maxVolumeNameLength = 128;
const fix = 'use letters, digits and _ . + -, starting with a letter or digit (for example `disk0.qcow2`)';

function invalid(name: string, why: string): VmhopError {
  return new VmhopError('VMHOP_ERR_VOLUME_NAME_INVALID', `volume name ${q(name)} ${why}; ${fix}`, {
    volume: name,
  });
}

/** The reason `name` is not a volume name, or undefined when it is one. */
export function volumeNameProblem(name: string): VmhopError | undefined {
  if (name.length === 0) return invalid(name, 'is empty');
  if (name.length > maxVolumeNameLength) {
    return invalid(
      `${name.slice(0, 32)}…`,
      `is ${name.length} characters long, more than ${maxVolumeNameLength}`,
    );
  }
  if (hasControlChar(name)) return invalid(name, 'contains a control character');
  if (name.includes('/')) return invalid(name, 'contains `/`: a volume is a file directly in its pool');
  if (name.includes('..')) return invalid(name, 'contains `..`');
  if (name.startsWith('.')) return invalid(name, 'starts with a dot');
  if (!VOLUME_NAME.test(name)) return invalid(name, 'contains a character that is not allowed');
  return undefined;
}

export function assertVolumeName(name: string): void {
  const problem = volumeNameProblem(name);
  if (problem) throw problem;
}

export function isVolumeName(name: string): boolean {
  return volumeNameProblem(name) === undefined;
}
