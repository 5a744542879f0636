import { readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as qemuImg from '../tools/qemu-img.js';
import { filesystemSpace } from './pool-space.js';
import { StorageService } from './storage-service.js';
import { GiB, MiB, TempStorage, writePattern, defaultPoolFixture } from './testing/temp-storage.js';

let tmp: TempStorage;
let storage: StorageService;
let dir: string;

beforeEach(async () => {
  ({ tmp, storage, dir } = await defaultPoolFixture());
});
afterEach(() => tmp.cleanup());

describe('deleting a volume', () => {
  it('removes the file', async () => {
    await storage.createVolume('default', { name: 'a.qcow2', sizeBytes: MiB });
    await storage.deleteVolume('default', 'a.qcow2');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses while another volume is an overlay on it, naming the overlay', async () => {
    await storage.createVolume('default', { name: 'base.qcow2', sizeBytes: MiB });
    await storage.createVolume('default', { name: 'top.qcow2', backingVolume: 'base.qcow2' });
    await expect(storage.deleteVolume('default', 'base.qcow2')).rejects.toMatchObject({
      code: 'VMHOP_ERR_VOLUME_IN_USE',
      message:
        'volume `base.qcow2` in pool `default` is the backing file of `top.qcow2` (pool `default`): ' +
        'delete that overlay first, or clone it into an independent volume',
      details: { dependents: [{ pool: 'default', volume: 'top.qcow2' }] },
    });
    await storage.deleteVolume('default', 'top.qcow2');
    await storage.deleteVolume('default', 'base.qcow2');
    expect(await readdir(dir)).toEqual([]);
  });

  it('finds overlays in other pools and overlays that reach the base through a link', async () => {
    const other = await tmp.dir();
    await storage.definePool({ name: 'other', kind: 'dir', path: other });
    await storage.createVolume('default', { name: 'base.qcow2', sizeBytes: MiB });
    await symlink(dir, join(other, 'via'));
    await qemuImg.create(join(other, 'top.qcow2'), {
      format: 'qcow2',
      backing: { file: join(other, 'via', 'base.qcow2'), format: 'qcow2' },
    });
    await expect(storage.deleteVolume('default', 'base.qcow2')).rejects.toMatchObject({
      code: 'VMHOP_ERR_VOLUME_IN_USE',
      details: { dependents: [{ pool: 'other', volume: 'top.qcow2' }] },
    });
  });

  it('still deletes an overlay whose own base is already gone', async () => {
    await storage.createVolume('default', { name: 'base.qcow2', sizeBytes: MiB });
    await storage.createVolume('default', { name: 'mid.qcow2', backingVolume: 'base.qcow2' });
    await storage.createVolume('default', { name: 'top.qcow2', backingVolume: 'mid.qcow2' });
    await rm(join(dir, 'base.qcow2'));
    await expect(storage.deleteVolume('default', 'mid.qcow2')).rejects.toMatchObject({
      code: 'VMHOP_ERR_VOLUME_IN_USE',
    });
    await storage.deleteVolume('default', 'top.qcow2');
    await storage.deleteVolume('default', 'mid.qcow2');
  });

  it('names the existing volumes when the one asked for is not there', async () => {
    await storage.createVolume('default', { name: 'a.qcow2', sizeBytes: MiB });
    await expect(storage.deleteVolume('default', 'b.qcow2')).rejects.toMatchObject({
      code: 'VMHOP_ERR_VOLUME_NOT_FOUND',
      message: 'volume `b.qcow2` not found in pool `default`; volumes there: `a.qcow2`',
    });
  });
});

describe('resizing a volume', () => {
  it('grows a volume, and shrinks it only when forced', async () => {
    await storage.createVolume('default', { name: 'a.qcow2', sizeBytes: 64 * MiB });
    expect((await storage.resizeVolume('default', 'a.qcow2', 128 * MiB)).virtualSizeBytes).toBe(128 * MiB);
    await expect(storage.resizeVolume('default', 'a.qcow2', 32 * MiB)).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
      message:
        'volume `a.qcow2` is 128.0 MiB; shrinking it to 32.0 MiB destroys the data past the new end ' +
        '(shrink the guest filesystem first): pass force to shrink',
    });
    expect((await storage.volumeInfo('default', 'a.qcow2')).virtualSizeBytes).toBe(128 * MiB);
    const shrunk = await storage.resizeVolume('default', 'a.qcow2', 32 * MiB, { force: true });
    expect(shrunk.virtualSizeBytes).toBe(32 * MiB);
  });

  it('grows a raw volume, and an overlay', async () => {
    await storage.createVolume('default', { name: 'a.raw', format: 'raw', sizeBytes: 64 * MiB });
    expect((await storage.resizeVolume('default', 'a.raw', 96 * MiB)).virtualSizeBytes).toBe(96 * MiB);
    await storage.createVolume('default', { name: 'base.qcow2', sizeBytes: 64 * MiB });
    await storage.createVolume('default', { name: 'top.qcow2', backingVolume: 'base.qcow2' });
    const top = await storage.resizeVolume('default', 'top.qcow2', GiB);
    expect(top).toMatchObject({ virtualSizeBytes: GiB, backingChain: [{ path: join(dir, 'base.qcow2') }] });
  });

  it('refuses to grow past the free space unless overcommit is allowed', async () => {
    await storage.createVolume('default', { name: 'a.qcow2', sizeBytes: 64 * MiB });
    const { freeBytes } = await filesystemSpace(dir);
    const sizeBytes = Math.ceil(freeBytes / GiB) * GiB + 10 * GiB;
    await expect(storage.resizeVolume('default', 'a.qcow2', sizeBytes)).rejects.toMatchObject({
      code: 'VMHOP_ERR_VOLUME_NO_SPACE',
    });
    const grown = await storage.resizeVolume('default', 'a.qcow2', sizeBytes, { allowOvercommit: true });
    expect(grown.virtualSizeBytes).toBe(sizeBytes);
  });

  it('refuses a size that is not a positive whole number of bytes', async () => {
    await storage.createVolume('default', { name: 'a.qcow2', sizeBytes: MiB });
    await expect(storage.resizeVolume('default', 'a.qcow2', 0)).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
    });
    await expect(storage.resizeVolume('default', 'a.qcow2', 1.5)).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
    });
  });
});

describe('cloning a volume', () => {
  it('copies the guest-visible content into an independent, still sparse volume', async () => {
    await storage.createVolume('default', { name: 'base.qcow2', sizeBytes: GiB });
    await writePattern(join(dir, 'base.qcow2'), '0', '4M');
    await storage.createVolume('default', { name: 'top.qcow2', backingVolume: 'base.qcow2' });
    await writePattern(join(dir, 'top.qcow2'), '100M', '2M');
    const clone = await storage.cloneVolume('default', 'top.qcow2', { name: 'copy.qcow2' });
    expect(clone).toMatchObject({ format: 'qcow2', virtualSizeBytes: GiB, backingChain: [] });
    expect(clone.allocatedBytes).toBeLessThan(8 * MiB);
    expect(await qemuImg.compare(join(dir, 'top.qcow2'), clone.path)).toEqual({ identical: true });
    await storage.deleteVolume('default', 'top.qcow2');
    await storage.deleteVolume('default', 'base.qcow2');
    expect((await storage.volumeInfo('default', 'copy.qcow2')).virtualSizeBytes).toBe(GiB);
  });

  it('converts to another format in another pool', async () => {
    const other = await tmp.dir();
    await storage.definePool({ name: 'other', kind: 'dir', path: other });
    await storage.createVolume('default', { name: 'a.qcow2', sizeBytes: 64 * MiB });
    await writePattern(join(dir, 'a.qcow2'), '1M', '1M');
    const clone = await storage.cloneVolume('default', 'a.qcow2', {
      name: 'a.raw',
      format: 'raw',
      targetPool: 'other',
    });
    expect(clone).toMatchObject({
      pool: 'other',
      path: join(other, 'a.raw'),
      format: 'raw',
      virtualSizeBytes: 64 * MiB,
    });
    expect(
      await qemuImg.compare(join(dir, 'a.qcow2'), clone.path, { formatA: 'qcow2', formatB: 'raw' }),
    ).toEqual({ identical: true });
  });

  it('refuses an existing name, and a target pool without room for the data', async () => {
    await storage.createVolume('default', { name: 'a.qcow2', sizeBytes: 64 * MiB });
    await writePattern(join(dir, 'a.qcow2'), '0', '20M');
    await expect(storage.cloneVolume('default', 'a.qcow2', { name: 'a.qcow2' })).rejects.toMatchObject({
      code: 'VMHOP_ERR_VOLUME_EXISTS',
    });
    const small = await tmp.smallFilesystem(16 * MiB);
    await storage.definePool({ name: 'small', kind: 'dir', path: small });
    const err = await storage
      .cloneVolume('default', 'a.qcow2', { name: 'c.qcow2', targetPool: 'small', allowOvercommit: true })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'VMHOP_ERR_VOLUME_NO_SPACE',
      message:
        'copying into volume `c.qcow2` writes 20.0 MiB, more than the 16.0 MiB free in pool `small`: ' +
        'free some space or choose another pool',
    });
    expect(await readdir(small)).toEqual([]);
  });

  it('removes the partial copy when a block device dump runs out of space half-way', async () => {
    // A device maps as all data, so the amount to write is unknown until the copy runs.
    const device = await tmp.loopDevice(64 * MiB);
    await writePattern(device, '0', '24M', 'raw');
    await storage.definePool({ name: 'lvm', kind: 'block', devices: [device] });
    const small = await tmp.smallFilesystem(16 * MiB);
    await storage.definePool({ name: 'small', kind: 'dir', path: small });
    const name = device.split('/').pop() ?? '';
    const err = await storage
      .cloneVolume('lvm', name, {
        name: 'dump.qcow2',
        format: 'qcow2',
        targetPool: 'small',
        allowOvercommit: true,
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'VMHOP_ERR_COMMAND_FAILED',
      message: expect.stringMatching(/No space left on device/),
    });
    expect(await readdir(small)).toEqual([]);
  });
});
