import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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

describe('creating a volume', () => {
  it('makes a thin qcow2 whose allocation follows the data written, not its size', async () => {
    const v = await storage.createVolume('default', { name: 'disk.qcow2', sizeBytes: GiB });
    expect(v).toMatchObject({
      pool: 'default',
      name: 'disk.qcow2',
      path: join(dir, 'disk.qcow2'),
      format: 'qcow2',
      virtualSizeBytes: GiB,
      backingChain: [],
    });
    expect(v.allocatedBytes).toBeLessThan(MiB);
    await writePattern(v.path, '0', '10M');
    const after = await storage.volumeInfo('default', 'disk.qcow2');
    expect(after.virtualSizeBytes).toBe(GiB);
    expect(after.allocatedBytes).toBeGreaterThanOrEqual(10 * MiB);
    expect(after.allocatedBytes).toBeLessThan(11 * MiB);
  });

  it('makes a sparse raw file readable only by root', async () => {
    const v = await storage.createVolume('default', { name: 'disk.raw', format: 'raw', sizeBytes: 64 * MiB });
    expect(v).toMatchObject({ format: 'raw', virtualSizeBytes: 64 * MiB });
    // qemu-img 7.2 allocates the first 4 KiB of a new raw file (it probes O_DIRECT alignment there).
    expect(v.allocatedBytes).toBeLessThanOrEqual(4096);
    expect((await stat(v.path)).mode & 0o777).toBe(0o600);
  });

  it('makes an overlay whose backing chain lists its bases by absolute path, nearest first', async () => {
    await storage.createVolume('default', { name: 'base.qcow2', sizeBytes: 64 * MiB });
    await storage.createVolume('default', { name: 'mid.qcow2', backingVolume: 'base.qcow2' });
    const top = await storage.createVolume('default', { name: 'top.qcow2', backingVolume: 'mid.qcow2' });
    expect(top.virtualSizeBytes).toBe(64 * MiB);
    expect(top.backingChain).toEqual([
      { path: join(dir, 'mid.qcow2'), format: 'qcow2' },
      { path: join(dir, 'base.qcow2'), format: 'qcow2' },
    ]);
  });

  it('refuses an overlay on a missing volume, on a raw format, or smaller than its base', async () => {
    await expect(
      storage.createVolume('default', { name: 'top.qcow2', backingVolume: 'base.qcow2' }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_VOLUME_NOT_FOUND',
      message: 'volume `base.qcow2` not found in pool `default`; the pool holds no volumes',
    });
    await storage.createVolume('default', { name: 'base.qcow2', sizeBytes: 64 * MiB });
    await expect(
      storage.createVolume('default', { name: 'top.raw', format: 'raw', backingVolume: 'base.qcow2' }),
    ).rejects.toMatchObject({ code: 'VMHOP_ERR_USAGE', message: expect.stringMatching(/use format qcow2/) });
    await expect(
      storage.createVolume('default', { name: 'top.qcow2', sizeBytes: MiB, backingVolume: 'base.qcow2' }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
      message: expect.stringMatching(/smaller than its backing/),
    });
    expect(await readdir(dir)).toEqual(['base.qcow2']);
  });

  it('refuses a volume without a size', async () => {
    await expect(storage.createVolume('default', { name: 'x.qcow2' })).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
      message: 'volume `x.qcow2` needs a size, or a backing volume to take it from',
    });
  });

  it('never overwrites an existing file', async () => {
    await writeFile(join(dir, 'precious.qcow2'), 'keep me');
    await expect(
      storage.createVolume('default', { name: 'precious.qcow2', sizeBytes: MiB }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_VOLUME_EXISTS',
      message:
        'volume `precious.qcow2` already exists in pool `default`: choose another name, or delete it first',
    });
    expect((await stat(join(dir, 'precious.qcow2'))).size).toBe(7);
  });

  it('refuses a volume bigger than the free space, naming both sizes and the pool', async () => {
    const { freeBytes } = await filesystemSpace(dir);
    const sizeBytes = Math.ceil(freeBytes / GiB) * GiB + 10 * GiB;
    for (const format of ['qcow2', 'raw'] as const) {
      const err = await storage
        .createVolume('default', { name: `big.${format}`, format, sizeBytes })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'VMHOP_ERR_VOLUME_NO_SPACE',
        details: { pool: 'default', needBytes: sizeBytes, freeBytes: expect.any(Number) },
      });
      expect((err as Error).message).toMatch(
        new RegExp(
          `^volume \`big\\.${format}\` \\(\\d+\\.0 GiB\\) does not fit in pool \`default\` \\([\\d.]+ [GT]iB free\\): ` +
            'choose a smaller size or another pool, or allow overcommit$',
        ),
      );
    }
    expect(await readdir(dir)).toEqual([]);
    const thin = await storage.createVolume(
      'default',
      { name: 'big.qcow2', sizeBytes },
      { allowOvercommit: true },
    );
    expect(thin.virtualSizeBytes).toBe(sizeBytes);
  });

  it('removes its partial file when qemu-img fails', async () => {
    // qemu-img 7.2 leaves an empty file behind when it refuses a raw size this large.
    const err = await storage
      .createVolume(
        'default',
        { name: 'huge.raw', format: 'raw', sizeBytes: 2 ** 52 },
        { allowOvercommit: true },
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'VMHOP_ERR_COMMAND_FAILED',
      details: { command: expect.arrayContaining(['qemu-img', 'create']) },
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('is not possible in a block pool, and says what to do instead', async () => {
    const device = await tmp.loopDevice(8 * MiB);
    await storage.definePool({ name: 'lvm', kind: 'block', devices: [device] });
    await expect(storage.createVolume('lvm', { name: 'new', sizeBytes: MiB })).rejects.toMatchObject({
      code: 'VMHOP_ERR_VOLUME_UNSUPPORTED',
      message: expect.stringMatching(
        /^cannot create a volume in block pool `lvm`: its volumes are the devices it lists\. Create/,
      ),
    });
  });
});
