import { describe, expect, it } from 'vitest';
import { DiskSpec, VmSpec } from '../../../protocol/vm-spec.js';
import { selectDisks, targetSpec } from './select-disks.js';

const disk = (target: string, pool: string) => DiskSpec.parse({ target, pool, volume: `v-${target}.qcow2` });
const kinds: Record<string, 'dir' | 'shared' | 'block'> = { local: 'dir', nfs: 'shared', lvm: 'block' };
const kind = (p: string) => kinds[p];

describe('selectDisks', () => {
  it('copies local disks and leaves disks on shared pools where they are', () => {
    const s = selectDisks([disk('vda', 'local'), disk('vdb', 'nfs'), disk('vdc', 'lvm')], kind, {});
    expect(s.copy.map((d) => d.target)).toEqual(['vda', 'vdc']);
    expect(s.shared.map((d) => d.target)).toEqual(['vdb']);
    expect(s.problems).toEqual([]);
  });

  it('copies only what --migrate-disks names, and refuses a local disk it leaves out', () => {
    const s = selectDisks([disk('vda', 'local'), disk('vdb', 'local')], kind, { migrateDisks: ['vda'] });
    expect(s.copy.map((d) => d.target)).toEqual(['vda']);
    expect(s.problems).toEqual([
      expect.objectContaining({ target: 'vdb', fix: expect.stringMatching(/add vdb/) }),
    ]);
  });

  it('refuses to copy a shared disk onto itself and names unknown disks', () => {
    const s = selectDisks([disk('vda', 'nfs')], kind, { migrateDisks: ['vda', 'vdz'] });
    expect(s.copy).toEqual([]);
    expect(s.problems.map((p) => p.target)).toEqual(['vdz', 'vda']);
  });
});

describe('targetSpec', () => {
  it('moves only the copied disks to --target-pool', () => {
    const spec = VmSpec.parse({
      name: 'v',
      uuid: '7f0c1a36-1d2e-4c3b-9a4f-2b6d8e0f1a2b',
      memoryMiB: 64,
      boot: { kind: 'disk' },
      disks: [disk('vda', 'local'), disk('vdb', 'nfs')],
    });
    const out = targetSpec(spec, [spec.disks[0]!], 'fast');
    expect(out.disks.map((d) => d.pool)).toEqual(['fast', 'nfs']);
    expect(targetSpec(spec, [spec.disks[0]!], undefined)).toBe(spec);
  });
});
