import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryPoolStore } from './pool-store.js';
import { StorageService } from './storage-service.js';
import { MiB, TempStorage } from './testing/temp-storage.js';

let tmp: TempStorage;
let storage: StorageService;
let pool: string;

beforeEach(async () => {
  tmp = new TempStorage();
  storage = new StorageService(new MemoryPoolStore());
  pool = await tmp.dir();
  await storage.definePool({ name: 'default', kind: 'dir', path: pool });
  await storage.createVolume('default', { name: 'disk.qcow2', sizeBytes: MiB });
});
afterEach(() => tmp.cleanup());

describe('finding the volume a path names', () => {
  it('is the inverse of resolvePath', async () => {
    const path = await storage.resolvePath('default', 'disk.qcow2');
    expect(path).toBe(join(pool, 'disk.qcow2'));
    expect(await storage.findByPath(path)).toEqual({ pool: 'default', volume: 'disk.qcow2' });
  });

  it('resolves `..` and symbolic links on the way', async () => {
    await mkdir(join(pool, 'sub'));
    expect(await storage.findByPath(join(pool, 'sub', '..', 'disk.qcow2'))).toEqual({
      pool: 'default',
      volume: 'disk.qcow2',
    });
    const elsewhere = await tmp.dir();
    await symlink(join(pool, 'disk.qcow2'), join(elsewhere, 'libvirt-name.img'));
    await symlink(pool, join(elsewhere, 'images'));
    expect(await storage.findByPath(join(elsewhere, 'libvirt-name.img'))).toEqual({
      pool: 'default',
      volume: 'disk.qcow2',
    });
    expect(await storage.findByPath(join(elsewhere, 'images', 'disk.qcow2'))).toEqual({
      pool: 'default',
      volume: 'disk.qcow2',
    });
  });

  it('names a volume not created yet when its directory is a pool', async () => {
    expect(await storage.findByPath(join(pool, 'future.qcow2'))).toEqual({
      pool: 'default',
      volume: 'future.qcow2',
    });
  });

  it('finds nothing outside every pool, in a pool subdirectory, or for a name no volume may have', async () => {
    const elsewhere = await tmp.dir();
    await writeFile(join(elsewhere, 'x.qcow2'), '');
    await mkdir(join(pool, 'sub'));
    await writeFile(join(pool, 'sub', 'y.qcow2'), '');
    expect(await storage.findByPath(join(elsewhere, 'x.qcow2'))).toBeUndefined();
    expect(await storage.findByPath(join(pool, 'sub', 'y.qcow2'))).toBeUndefined();
    expect(await storage.findByPath(join(pool, '.vmhop-pool'))).toBeUndefined();
    expect(await storage.findByPath(join(pool, '..', 'x'))).toBeUndefined();
    expect(await storage.findByPath('relative/disk.qcow2')).toBeUndefined();
    expect(await storage.findByPath(`${pool}/disk.qcow2\n`)).toBeUndefined();
  });
});
