// Storage copy with a real QEMU 7.2 pair: the target exports a qcow2 over NBD, the source mirrors
// its disk into it until BLOCK_JOB_READY and ends the mirror without pivot, as a migration does.
// Every QEMU is killed after each test.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  blockdevAdd,
  blockdevMirror,
  blockExportAdd,
  blockJobCancel,
  isQmpEvent,
  nbdServerStart,
  queryBlockJobs,
} from '../../src/qmp/index.js';
import { qemuAvailable } from '../../src/qmp/testing/test-qemu.js';
import { TestQemuPool } from '../../src/qmp/testing/test-qemu-pool.js';

const pool = new TestQemuPool();

describe.skipIf(!qemuAvailable())('QEMU 7.2 disk mirror into an NBD export', () => {
  afterEach(() => pool.stopAll());
  afterAll(() => pool.dispose());

  it('mirrors a disk into an NBD export of the target until ready, then ends it without pivot', async () => {
    const image = (name: string): string => {
      const path = join(pool.dir, name);
      if (spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', path, '8M']).status !== 0)
        throw new Error('qemu-img');
      return path;
    };
    const sourceImage = image('mirror-source.qcow2');
    const targetImage = image('mirror-target.qcow2');
    const nbdPath = join(pool.dir, 'mirror-nbd.sock');
    const disk = `driver=qcow2,node-name=disk0,file.driver=file,file.filename=${sourceImage}`;
    const target = await pool.connect(pool.start({ name: 'nbd-target', paused: true, incomingDefer: true }));
    const source = await pool.connect(
      pool.start({
        name: 'nbd-source',
        extraArgs: ['-blockdev', disk, '-device', 'virtio-blk-pci,drive=disk0'],
      }),
    );

    await nbdServerStart(target, { addr: { type: 'unix', path: nbdPath } });
    await blockdevAdd(target, {
      driver: 'qcow2',
      'node-name': 'disk0',
      file: { driver: 'file', filename: targetImage },
    });
    await blockExportAdd(target, { type: 'nbd', id: 'export-disk0', 'node-name': 'disk0', writable: true });
    await blockdevAdd(source, {
      driver: 'nbd',
      'node-name': 'target-disk0',
      server: { type: 'unix', path: nbdPath },
      export: 'disk0',
    });
    const jobEvents = source.events(['BLOCK_JOB_READY', 'BLOCK_JOB_COMPLETED', 'BLOCK_JOB_CANCELLED']);
    await blockdevMirror(source, {
      'job-id': 'mirror-disk0',
      device: 'disk0',
      target: 'target-disk0',
      sync: 'full',
    });
    const ready = await jobEvents.next();
    expect(ready.value).toMatchObject({
      event: 'BLOCK_JOB_READY',
      data: { device: 'mirror-disk0', type: 'mirror' },
    });
    expect((await queryBlockJobs(source))[0]).toMatchObject({ ready: true, status: 'ready' });
    await blockJobCancel(source, { device: 'mirror-disk0' });
    const end = await jobEvents.next();
    await jobEvents.return();
    expect(end.value?.event).toBe('BLOCK_JOB_COMPLETED');
    if (end.value && isQmpEvent(end.value, 'BLOCK_JOB_COMPLETED'))
      expect(end.value.data.error).toBeUndefined();
  });
});
