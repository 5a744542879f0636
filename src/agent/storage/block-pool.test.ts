import { readFile, symlink } from 'node:fs/promises';
import { execa } from 'execa';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as qemuImg from '../tools/qemu-img.js';
import { MemoryPoolStore } from './pool-store.js';
import { StorageService } from './storage-service.js';
import { MiB, TempStorage, writePattern } from './testing/temp-storage.js';

// Real loop devices made from temporary files, detached after each test.
let tmp: TempStorage;
let storage: StorageService;

beforeEach(() => {
  tmp = new TempStorage();
  storage = new StorageService(new MemoryPoolStore());
});
afterEach(() => tmp.cleanup());

describe('a block pool', () => {
  it('reports its devices as raw volumes named by basename, fully allocated', async () => {
    const a = await tmp.loopDevice(16 * MiB);
    const b = await tmp.loopDevice(32 * MiB);
    const info = await storage.definePool({ name: 'lvm', kind: 'block', devices: [a, b] });
    expect(info).toEqual({
      name: 'lvm',
      kind: 'block',
      devices: [a, b],
      capacityBytes: 48 * MiB,
      allocationBytes: 48 * MiB,
      freeBytes: 0,
      volumeCount: 2,
    });
    const { volumes, problems } = await storage.listVolumes('lvm');
    expect(problems).toEqual([]);
    expect(volumes).toEqual([
      {
        pool: 'lvm',
        name: basename(a),
        path: a,
        format: 'raw',
        virtualSizeBytes: 16 * MiB,
        allocatedBytes: 16 * MiB,
        backingChain: [],
      },
      {
        pool: 'lvm',
        name: basename(b),
        path: b,
        format: 'raw',
        virtualSizeBytes: 32 * MiB,
        allocatedBytes: 32 * MiB,
        backingChain: [],
      },
    ]);
    expect(await storage.resolvePath('lvm', basename(b))).toBe(b);
    expect(await storage.findByPath(b)).toEqual({ pool: 'lvm', volume: basename(b) });
  });

  it('finds a device through a link such as /dev/vg0/lv0 -> /dev/dm-3', async () => {
    const device = await tmp.loopDevice(8 * MiB);
    await storage.definePool({ name: 'lvm', kind: 'block', devices: [device] });
    const link = join(await tmp.dir(), 'lv0');
    await symlink(device, link);
    expect(await storage.findByPath(link)).toEqual({ pool: 'lvm', volume: basename(device) });
  });

  it('cannot create, delete or resize volumes, and says what to do', async () => {
    const device = await tmp.loopDevice(8 * MiB);
    await storage.definePool({ name: 'lvm', kind: 'block', devices: [device] });
    for (const [attempt, what] of [
      [() => storage.createVolume('lvm', { name: 'x', sizeBytes: MiB }), 'create a volume'],
      [() => storage.deleteVolume('lvm', basename(device)), 'delete a volume'],
      [() => storage.resizeVolume('lvm', basename(device), 16 * MiB), 'resize a volume'],
    ] as const) {
      await expect(attempt()).rejects.toMatchObject({
        code: 'VMHOP_ERR_VOLUME_UNSUPPORTED',
        message: expect.stringContaining(
          `cannot ${what} in block pool \`lvm\`: its volumes are the devices it lists`,
        ),
      });
    }
  });

  it('dumps a device to a sparse qcow2 in a dir pool', async () => {
    const device = await tmp.loopDevice(64 * MiB);
    await writePattern(device, '8M', '3M', 'raw');
    await storage.definePool({ name: 'lvm', kind: 'block', devices: [device] });
    await storage.definePool({ name: 'images', kind: 'dir', path: await tmp.dir() });
    const dump = await storage.cloneVolume('lvm', basename(device), {
      name: 'dump.qcow2',
      format: 'qcow2',
      targetPool: 'images',
    });
    expect(dump).toMatchObject({ pool: 'images', format: 'qcow2', virtualSizeBytes: 64 * MiB });
    expect(dump.allocatedBytes).toBeLessThan(4 * MiB);
    expect(await qemuImg.compare(device, dump.path, { formatA: 'raw', formatB: 'qcow2' })).toEqual({
      identical: true,
    });
  });

  it('refuses a device listed twice, here or in another pool', async () => {
    const device = await tmp.loopDevice(8 * MiB);
    await expect(
      storage.definePool({ name: 'x', kind: 'block', devices: [device, device] }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: `device \`${device}\` is listed twice (in this pool)`,
    });
    await storage.definePool({ name: 'lvm', kind: 'block', devices: [device] });
    await expect(storage.definePool({ name: 'y', kind: 'block', devices: [device] })).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: `device \`${device}\` is listed twice (also in pool \`lvm\`)`,
    });
  });

  it('is forgotten on undefine without touching its devices', async () => {
    const device = await tmp.loopDevice(8 * MiB);
    await writePattern(device, '0', '1M', 'raw');
    await storage.definePool({ name: 'lvm', kind: 'block', devices: [device] });
    await storage.undefinePool('lvm');
    await expect(storage.poolInfo('lvm')).rejects.toMatchObject({ code: 'VMHOP_ERR_POOL_NOT_FOUND' });
    const extents = await qemuImg.map(device, { format: 'raw' });
    expect(qemuImg.dataBytes(extents)).toBe(8 * MiB);
  });
});

describe('a device the host itself uses', () => {
  it('is refused as a block pool device while mounted, naming the mount, and accepted once unmounted', async () => {
    const device = await tmp.loopDevice(16 * MiB);
    const dir = await tmp.dir('vmhop-mnt-');
    await execa('mkfs.ext4', ['-q', device]);
    await execa('mount', [device, dir]);
    try {
      await expect(
        storage.definePool({ name: 'blk', kind: 'block', devices: [device] }),
      ).rejects.toMatchObject({
        code: 'VMHOP_ERR_POOL_INVALID',
        message: expect.stringContaining(
          `device \`${device}\` is in use by this host: ${device} is mounted at ${dir}`,
        ),
      });
    } finally {
      await execa('umount', [dir]);
    }
    await expect(
      storage.definePool({ name: 'blk', kind: 'block', devices: [device] }),
    ).resolves.toMatchObject({
      name: 'blk',
    });
  });

  it('is refused as the target of a dump when it was mounted after its pool was defined', async () => {
    const device = await tmp.loopDevice(16 * MiB);
    await storage.definePool({ name: 'blk', kind: 'block', devices: [device] });
    const dir = await tmp.dir('vmhop-mnt-');
    await execa('mkfs.ext4', ['-q', device]);
    await execa('mount', [device, dir]);
    try {
      await expect(storage.blockDevice(device)).rejects.toMatchObject({
        code: 'VMHOP_ERR_PATH_OUTSIDE_POOL',
        message: expect.stringContaining('is in use by this host'),
      });
    } finally {
      await execa('umount', [dir]);
    }
  });

  it('is refused when it is the disk of the root filesystem', async () => {
    const root = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .find((l) => l.split(' ')[4] === '/');
    const source = root?.split(' - ')[1]?.split(' ')[1] ?? '';
    if (!source.startsWith('/dev/')) return; // an overlay or tmpfs root: no device to try
    await expect(
      storage.definePool({ name: 'host', kind: 'block', devices: [source] }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_POOL_INVALID',
      message: expect.stringContaining('is mounted at /'),
    });
  });
});
