import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryPoolStore } from './pool-store.js';
import { StorageService } from './storage-service.js';
import { TempStorage } from './testing/temp-storage.js';

// Two services over one directory play two hosts mounting one shared storage.
let tmp: TempStorage;
let hostA: StorageService;
let hostB: StorageService;

beforeEach(() => {
  tmp = new TempStorage();
  hostA = new StorageService(new MemoryPoolStore());
  hostB = new StorageService(new MemoryPoolStore());
});
afterEach(() => tmp.cleanup());

describe('the shared pool marker', () => {
  it('is created by the first host and adopted by the second', async () => {
    const dir = await tmp.dir();
    const a = await hostA.definePool({ name: 'nfs', kind: 'shared', path: dir });
    const b = await hostB.definePool({ name: 'nfs', kind: 'shared', path: dir });
    expect(a.markerId).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.markerId).toBe(a.markerId);
    expect(await hostB.markerId('nfs')).toBe(a.markerId);
    const marker = JSON.parse(await readFile(join(dir, '.vmhop-pool'), 'utf8')) as {
      id: string;
      createdAt: string;
    };
    expect(marker).toEqual({ id: a.markerId, createdAt: expect.any(String) });
    expect(await readdir(dir)).toEqual(['.vmhop-pool']);
  });

  it('agrees on one id when two hosts define the pool at once', async () => {
    const dir = await tmp.dir();
    const [a, b] = await Promise.all([
      hostA.definePool({ name: 'nfs', kind: 'shared', path: dir }),
      hostB.definePool({ name: 'nfs', kind: 'shared', path: dir }),
    ]);
    expect(a.markerId).toBe(b.markerId);
    expect(await readdir(dir)).toEqual(['.vmhop-pool']);
  });

  it('tells different storage apart, and missing storage from present', async () => {
    const dirA = await tmp.dir();
    const dirB = await tmp.dir();
    await hostA.definePool({ name: 'nfs', kind: 'shared', path: dirA });
    await hostB.definePool({ name: 'nfs', kind: 'shared', path: dirB });
    expect(await hostA.markerId('nfs')).not.toBe(await hostB.markerId('nfs'));

    await tmp.cleanup();
    await expect(hostA.markerId('nfs')).rejects.toMatchObject({ code: 'VMHOP_ERR_POOL_INVALID' });
  });

  it('shows no marker id when the storage is not mounted (an empty mountpoint)', async () => {
    const dir = await tmp.dir();
    await hostA.definePool({ name: 'nfs', kind: 'shared', path: dir });
    await rm(join(dir, '.vmhop-pool'));
    expect((await hostA.poolInfo('nfs')).markerId).toBeUndefined();
    await expect(hostA.markerId('nfs')).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: expect.stringMatching(/has no .vmhop-pool marker .*: the storage is not mounted there/),
    });
  });

  it('refuses a malformed marker instead of replacing it', async () => {
    const dir = await tmp.dir();
    await writeFile(join(dir, '.vmhop-pool'), 'not json');
    await expect(hostA.definePool({ name: 'nfs', kind: 'shared', path: dir })).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: expect.stringMatching(/is not vmhop's \{id, createdAt\} JSON/),
    });
    expect(await readFile(join(dir, '.vmhop-pool'), 'utf8')).toBe('not json');
  });

  it('is only for shared pools', async () => {
    await hostA.definePool({ name: 'local', kind: 'dir', path: await tmp.dir() });
    await expect(hostA.markerId('local')).rejects.toMatchObject({ code: 'VMHOP_ERR_VOLUME_UNSUPPORTED' });
    await expect(hostA.writeProbe('local')).rejects.toMatchObject({ code: 'VMHOP_ERR_VOLUME_UNSUPPORTED' });
  });
});

describe('the same-storage probe', () => {
  it('written by one host is seen by the other, and gone once removed', async () => {
    const dir = await tmp.dir();
    await hostA.definePool({ name: 'nfs', kind: 'shared', path: dir });
    await hostB.definePool({ name: 'nfs', kind: 'shared', path: dir });
    const { nonce, file } = await hostA.writeProbe('nfs');
    expect(file).toBe(join(dir, `.vmhop-probe-${nonce}`));
    expect(await hostB.checkProbe('nfs', nonce)).toBe(true);
    await hostB.removeProbe('nfs', nonce);
    expect(await hostA.checkProbe('nfs', nonce)).toBe(false);
    await hostA.removeProbe('nfs', nonce); // already gone: not an error
  });

  it('is not seen on a different storage with the same marker copied over', async () => {
    const dirA = await tmp.dir();
    const dirB = await tmp.dir();
    await hostA.definePool({ name: 'nfs', kind: 'shared', path: dirA });
    await writeFile(join(dirB, '.vmhop-pool'), await readFile(join(dirA, '.vmhop-pool')));
    await hostB.definePool({ name: 'nfs', kind: 'shared', path: dirB });
    expect(await hostB.markerId('nfs')).toBe(await hostA.markerId('nfs'));
    const { nonce } = await hostA.writeProbe('nfs');
    expect(await hostB.checkProbe('nfs', nonce)).toBe(false);
  });

  it('refuses a nonce that could name another file', async () => {
    await hostA.definePool({ name: 'nfs', kind: 'shared', path: await tmp.dir() });
    await expect(hostA.checkProbe('nfs', '../../etc/passwd')).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
    });
    await expect(hostA.removeProbe('nfs', '../.vmhop-pool')).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
    });
  });
});
