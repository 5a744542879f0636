import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as qemuImg from '../tools/qemu-img.js';
import { StorageService } from './storage-service.js';
import { MiB, TempStorage, defaultPoolFixture } from './testing/temp-storage.js';

let tmp: TempStorage;
let storage: StorageService;
let dir: string;

beforeEach(async () => {
  ({ tmp, storage, dir } = await defaultPoolFixture());
});
afterEach(() => tmp.cleanup());

describe('listing volumes', () => {
  it('describes every volume, sorted by name', async () => {
    await storage.createVolume('default', { name: 'b.raw', format: 'raw', sizeBytes: MiB });
    await storage.createVolume('default', { name: 'a.qcow2', sizeBytes: 2 * MiB });
    const { volumes, problems } = await storage.listVolumes('default');
    expect(problems).toEqual([]);
    expect(volumes.map((v) => [v.name, v.format, v.virtualSizeBytes])).toEqual([
      ['a.qcow2', 'qcow2', 2 * MiB],
      ['b.raw', 'raw', MiB],
    ]);
  });

  it('reports a broken overlay and a foreign format as problems, and lists the rest', async () => {
    await storage.createVolume('default', { name: 'ok.qcow2', sizeBytes: MiB });
    await qemuImg.create(join(dir, 'base.qcow2'), { format: 'qcow2', sizeBytes: MiB });
    await qemuImg.create(join(dir, 'top.qcow2'), {
      format: 'qcow2',
      backing: { file: join(dir, 'base.qcow2'), format: 'qcow2' },
    });
    await rm(join(dir, 'base.qcow2'));
    await execa('qemu-img', ['create', '-q', '-f', 'vmdk', join(dir, 'old.vmdk'), '1M']);
    const { volumes, problems } = await storage.listVolumes('default');
    expect(volumes.map((v) => v.name)).toEqual(['ok.qcow2']);
    expect(problems.map((p) => [p.volume, p.error.code])).toEqual([
      ['old.vmdk', 'VMHOP_ERR_VOLUME_UNSUPPORTED'],
      ['top.qcow2', 'VMHOP_ERR_COMMAND_FAILED'],
    ]);
    expect(problems[0]?.error.message).toBe(
      'volume `old.vmdk` in pool `default` is a vmdk image; vmhop handles qcow2 and raw: ' +
        'convert it with `qemu-img convert -O qcow2`',
    );
  });
});
