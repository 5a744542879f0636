import { link, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryPoolStore } from './pool-store.js';
import { StorageService } from './storage-service.js';
import { MiB, TempStorage } from './testing/temp-storage.js';

// Every way a volume name could reach outside its pool, tried through the service calls an
// API request reaches: create, info, delete, resolvePath.
let tmp: TempStorage;
let storage: StorageService;
let pool: string;
let outside: string;

beforeEach(async () => {
  tmp = new TempStorage();
  storage = new StorageService(new MemoryPoolStore());
  pool = await tmp.dir();
  outside = await tmp.dir();
  await storage.definePool({ name: 'default', kind: 'dir', path: pool });
});
afterEach(() => tmp.cleanup());

const badNames = [
  ['a parent reference', '../x'],
  ['a subdirectory', 'a/b'],
  ['an absolute path', '/etc/passwd'],
  ['a NUL', 'x\0y'],
  ['a newline', 'x\ny'],
  ['a too long name', 'v'.repeat(129)],
  ['the pool marker', '.vmhop-pool'],
];

describe('volume names cannot escape the pool', () => {
  it.each(badNames)('refuses %s everywhere', async (_what, name) => {
    await mkdir(join(pool, 'a'));
    for (const attempt of [
      () => storage.createVolume('default', { name, sizeBytes: MiB }),
      () => storage.volumeInfo('default', name),
      () => storage.deleteVolume('default', name),
      () => storage.resizeVolume('default', name, MiB),
      () => storage.resolvePath('default', name),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'VMHOP_ERR_VOLUME_NAME_INVALID' });
    }
    expect(await readdir(pool)).toEqual(['a']);
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses a symbolic link that points out of the pool', async () => {
    await writeFile(join(outside, 'secret'), 'x');
    await symlink(join(outside, 'secret'), join(pool, 'evil.qcow2'));
    for (const attempt of [
      () => storage.volumeInfo('default', 'evil.qcow2'),
      () => storage.resolvePath('default', 'evil.qcow2'),
      () => storage.deleteVolume('default', 'evil.qcow2'),
      () => storage.resizeVolume('default', 'evil.qcow2', MiB),
    ]) {
      await expect(attempt()).rejects.toMatchObject({
        code: 'VMHOP_ERR_PATH_OUTSIDE_POOL',
        message: expect.stringMatching(
          /^volume `evil.qcow2` in pool `default` leads to `.*\/secret`, outside the pool/,
        ),
      });
    }
    expect(await readdir(outside)).toEqual(['secret']);
  });

  it('refuses a dangling link, whose target qemu-img create would make anywhere', async () => {
    await symlink(join(outside, 'planted.qcow2'), join(pool, 'new.qcow2'));
    await expect(
      storage.createVolume('default', { name: 'new.qcow2', sizeBytes: MiB }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_PATH_OUTSIDE_POOL',
      message: expect.stringMatching(/is a symbolic link to `.*planted.qcow2`, which does not exist/),
    });
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses a volume that is a hard link (its other name may be outside), but lets it be deleted', async () => {
    await writeFile(join(outside, 'victim.raw'), Buffer.alloc(MiB, 7));
    await link(join(outside, 'victim.raw'), join(pool, 'hl.raw'));
    for (const attempt of [
      () => storage.volumeInfo('default', 'hl.raw'),
      () => storage.resolvePath('default', 'hl.raw'),
      () => storage.resizeVolume('default', 'hl.raw', 2 * MiB),
      () => storage.createVolume('default', { name: 'hl.raw', sizeBytes: MiB, format: 'raw' }),
      () => storage.cloneVolume('default', 'hl.raw', { name: 'copy.raw' }),
    ]) {
      await expect(attempt()).rejects.toMatchObject({
        code: 'VMHOP_ERR_VOLUME_HARD_LINKED',
        message: expect.stringMatching(/^volume `hl.raw` in pool `default` \(`.*hl.raw`\) has 2 hard links/),
      });
    }
    const listing = await storage.listVolumes('default');
    expect(listing.volumes).toEqual([]);
    expect(listing.problems).toMatchObject([
      { volume: 'hl.raw', error: { code: 'VMHOP_ERR_VOLUME_HARD_LINKED' } },
    ]);
    await storage.deleteVolume('default', 'hl.raw');
    expect(await readdir(pool)).toEqual([]);
    expect((await stat(join(outside, 'victim.raw'))).size).toBe(MiB);
    expect((await readFile(join(outside, 'victim.raw')))[0]).toBe(7);
  });

  it('follows a link that stays inside the pool', async () => {
    await storage.createVolume('default', { name: 'real.qcow2', sizeBytes: MiB });
    await symlink('real.qcow2', join(pool, 'alias.qcow2'));
    expect(await storage.resolvePath('default', 'alias.qcow2')).toBe(join(pool, 'alias.qcow2'));
    expect((await storage.volumeInfo('default', 'alias.qcow2')).virtualSizeBytes).toBe(MiB);
  });

  it('keeps working when the pool directory itself is reached through a link', async () => {
    const real = await tmp.dir();
    const linked = join(outside, 'pool-link');
    await symlink(real, linked);
    await storage.definePool({ name: 'linked', kind: 'dir', path: linked });
    const v = await storage.createVolume('linked', { name: 'a.qcow2', sizeBytes: MiB });
    expect(v.path).toBe(join(linked, 'a.qcow2'));
    expect(await readdir(real)).toEqual(['a.qcow2']);
    expect(await storage.findByPath(join(real, 'a.qcow2'))).toEqual({ pool: 'linked', volume: 'a.qcow2' });
  });
});
