import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryPoolStore } from './pool-store.js';
import { StorageService } from './storage-service.js';
import { MiB, TempStorage } from './testing/temp-storage.js';

let tmp: TempStorage;
let store: MemoryPoolStore;
let storage: StorageService;

beforeEach(() => {
  tmp = new TempStorage();
  store = new MemoryPoolStore();
  storage = new StorageService(store);
});
afterEach(() => tmp.cleanup());

describe('defining a dir pool', () => {
  it('stores it and reports filesystem space and volume count', async () => {
    const dir = await tmp.dir();
    const info = await storage.definePool({ name: 'default', kind: 'dir', path: dir + '/' });
    expect(info).toMatchObject({ name: 'default', kind: 'dir', path: dir, volumeCount: 0 });
    expect(info.markerId).toBeUndefined();
    expect(info.capacityBytes).toBeGreaterThan(info.freeBytes);
    expect(info.freeBytes).toBeGreaterThan(0);
    expect(info.allocationBytes).toBeGreaterThan(0);
    expect(store.get('default')).toEqual({ name: 'default', kind: 'dir', path: dir });

    await storage.createVolume('default', { name: 'a.qcow2', sizeBytes: MiB });
    await writeFile(join(dir, 'b.raw'), '');
    // Not volumes: no valid name, hidden, a directory.
    await writeFile(join(dir, 'my notes.txt'), '');
    await writeFile(join(dir, '.hidden'), '');
    await mkdir(join(dir, 'subdir'));
    expect((await storage.poolInfo('default')).volumeCount).toBe(2);
  });

  it('refuses a path that does not exist or is not a directory', async () => {
    const dir = await tmp.dir();
    await expect(
      storage.definePool({ name: 'p', kind: 'dir', path: join(dir, 'nope') }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: expect.stringMatching(/nope` of pool `p` does not exist: create the directory/),
    });
    await writeFile(join(dir, 'file'), '');
    await expect(
      storage.definePool({ name: 'p', kind: 'dir', path: join(dir, 'file') }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: expect.stringMatching(/is not a directory/),
    });
    expect(store.list()).toEqual([]);
  });

  it('refuses a relative path, a bad name and a second pool of the same name or directory', async () => {
    const dir = await tmp.dir();
    await expect(storage.definePool({ name: 'p', kind: 'dir', path: 'rel/dir' })).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: expect.stringMatching(/path: pool path must be absolute/),
    });
    await expect(storage.definePool({ name: '../p', kind: 'dir', path: dir })).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
    });
    await storage.definePool({ name: 'p', kind: 'dir', path: dir });
    await expect(storage.definePool({ name: 'p', kind: 'dir', path: await tmp.dir() })).rejects.toMatchObject(
      {
        code: 'VMHOP_ERR_POOL_EXISTS',
        message: 'pool `p` already exists (dir): choose another name, or undefine it first',
      },
    );
    await expect(storage.definePool({ name: 'q', kind: 'dir', path: join(dir, '.') })).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: `the directory \`${dir}\` is already pool \`p\`: use that pool`,
    });
  });

  it('refuses a block pool over a file', async () => {
    const dir = await tmp.dir();
    await writeFile(join(dir, 'disk'), '');
    await expect(
      storage.definePool({ name: 'b', kind: 'block', devices: ['/dev/null'] }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: expect.stringMatching(/`\/dev\/null` is not a block device/),
    });
    await expect(
      storage.definePool({ name: 'b', kind: 'block', devices: [join(dir, 'disk')] }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: expect.stringMatching(/devices must be paths under \/dev/),
    });
  });
});

describe('looking pools up', () => {
  it('names the pools that do exist when one is not found', async () => {
    await expect(storage.poolInfo('fast')).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_NOT_FOUND',
      message: 'pool `fast` not found; no pools are defined here: define one with `vmhop pool-define`',
    });
    await storage.definePool({ name: 'default', kind: 'dir', path: await tmp.dir() });
    await storage.definePool({ name: 'shared', kind: 'shared', path: await tmp.dir() });
    await expect(storage.volumeInfo('fast', 'x')).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_NOT_FOUND',
      message: 'pool `fast` not found; pools here: `default`, `shared`',
    });
  });

  it('lists every pool, reporting one whose directory vanished instead of failing', async () => {
    const gone = await tmp.dir();
    await storage.definePool({ name: 'a', kind: 'dir', path: await tmp.dir() });
    await storage.definePool({ name: 'gone', kind: 'dir', path: gone });
    await tmp.cleanup();
    await storage.definePool({ name: 'c', kind: 'dir', path: await tmp.dir() });
    const listing = await storage.listPools();
    expect(listing.pools.map((p) => p.name)).toEqual(['c']);
    expect(listing.problems.map((p) => [p.pool, p.error.code])).toEqual([
      ['a', 'VMHOP_ERR_POOL_INVALID'],
      ['gone', 'VMHOP_ERR_POOL_INVALID'],
    ]);
    expect(listing.problems[1]?.error.message).toBe(
      `the directory \`${gone}\` of pool \`gone\` is missing: mount or create it, or undefine the pool`,
    );
  });
});

describe('undefining a pool', () => {
  it('refuses while it holds volumes, and forgets it when forced without deleting a file', async () => {
    const dir = await tmp.dir();
    await storage.definePool({ name: 'p', kind: 'dir', path: dir });
    await storage.createVolume('p', { name: 'a.qcow2', sizeBytes: MiB });
    await expect(storage.undefinePool('p')).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_IN_USE',
      message:
        'pool `p` holds 1 volume (`a.qcow2`): delete it first, or force (the files stay where they are)',
    });
    await storage.undefinePool('p', { force: true });
    expect(store.list()).toEqual([]);
    expect(await readdir(dir)).toEqual(['a.qcow2']);
  });

  it('forgets an empty pool, and keeps a shared pool marker for the other hosts', async () => {
    const dir = await tmp.dir();
    await storage.definePool({ name: 's', kind: 'shared', path: dir });
    await storage.undefinePool('s');
    expect(store.get('s')).toBeUndefined();
    expect(await readdir(dir)).toEqual(['.vmhop-pool']);
  });
});
