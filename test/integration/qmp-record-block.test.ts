// Records transcripts of a storage copy between two QEMU processes (the installed one, or
// VMHOP_RECORD_QEMU=path): the target serves a qcow2
// over NBD (nbd-server-start, blockdev-add, block-export-add), the source mirrors its disk into it
// (blockdev-add nbd, blockdev-mirror, BLOCK_JOB_READY), ends the mirror the migration way
// (block-job-cancel when ready) and then with a pivot (block-job-complete). VMHOP_RECORD_QMP=1 only.

import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import {
  blockdevAdd,
  blockdevDel,
  blockdevMirror,
  blockExportAdd,
  blockExportDel,
  blockJobCancel,
  blockJobComplete,
  nbdServerAdd,
  nbdServerStart,
  nbdServerStop,
  queryBlock,
  queryBlockExports,
  queryBlockJobs,
  queryNamedBlockNodes,
  quit,
  type QmpSession,
} from '../../src/qmp/index.js';
import { recordSession } from '../../src/qmp/testing/record-transcript.js';
import { qemuAvailable, qemuVersionText } from '../../src/qmp/testing/test-qemu.js';
import { TestQemuPool } from '../../src/qmp/testing/test-qemu-pool.js';

const recordDir = '/tmp/vmhop-qmp-record-block';
const recording = process.env['VMHOP_RECORD_QMP'] === '1' && qemuAvailable();
/** Another QEMU than the installed one, e.g. the 7.2 of scripts/qemu-7.2.sh. */
const recordQemu = process.env['VMHOP_RECORD_QEMU'];

function qemuImg(args: string[]): void {
  if (spawnSync('qemu-img', args, { stdio: 'ignore' }).status !== 0)
    throw new Error(`qemu-img ${args[0]} failed`);
}

const pool = new TestQemuPool(recordDir, recordQemu);

async function mirrorUntilReady(s: QmpSession, jobId: string): Promise<void> {
  const ready = s.waitEvent('BLOCK_JOB_READY', (event) => event.data.device === jobId, { timeoutMs: 30_000 });
  await blockdevMirror(s, { 'job-id': jobId, device: 'disk0', target: 'target-disk0', sync: 'full' });
  await ready;
  await queryBlockJobs(s);
}

describe.skipIf(!recording)(
  `recording QMP transcripts from ${qemuVersionText(recordQemu)} (block mirror over NBD)`,
  () => {
    beforeAll(() => {
      rmSync(recordDir, { recursive: true, force: true });
      mkdirSync(recordDir, { recursive: true });
      qemuImg(['create', '-q', '-f', 'qcow2', `${recordDir}/source.qcow2`, '16M']);
      spawnSync('qemu-io', ['-c', 'write -P 0xab 0 1M', `${recordDir}/source.qcow2`], { stdio: 'ignore' });
      qemuImg(['create', '-q', '-f', 'qcow2', `${recordDir}/target.qcow2`, '16M']);
    });
    afterEach(() => pool.stopAll());
    afterAll(() => pool.dispose());

    it('records a mirror into an NBD export', async () => {
      const nbdSocket = `${recordDir}/nbd.sock`;
      const disk = `driver=qcow2,node-name=disk0,file.driver=file,file.filename=${recordDir}/source.qcow2`;
      const target = await recordSession(
        'nbd-export',
        pool.start({ name: 'target', paused: true, incomingDefer: true }),
      );
      const source = await recordSession(
        'block-mirror',
        pool.start({
          name: 'source',
          extraArgs: ['-blockdev', disk, '-device', 'virtio-blk-pci,drive=disk0,id=vd0'],
        }),
      );
      const t = target.session;
      const s = source.session;

      await nbdServerStart(t, { addr: { type: 'unix', path: nbdSocket } });
      await nbdServerStart(t, { addr: { type: 'unix', path: `${recordDir}/second.sock` } }).catch(
        () => undefined,
      );
      await blockdevAdd(t, {
        driver: 'qcow2',
        'node-name': 'disk0',
        file: { driver: 'file', 'node-name': 'disk0-file', filename: `${recordDir}/target.qcow2` },
      });
      await blockExportAdd(t, {
        type: 'nbd',
        id: 'export-disk0',
        'node-name': 'disk0',
        name: 'disk0',
        writable: true,
      });
      await queryBlockExports(t);

      await queryBlock(s);
      await queryNamedBlockNodes(s, { flat: true });
      await blockdevAdd(s, {
        driver: 'nbd',
        'node-name': 'target-disk0',
        server: { type: 'unix', path: nbdSocket },
        export: 'disk0',
      });
      await mirrorUntilReady(s, 'mirror-disk0');
      await blockExportDel(t, { id: 'export-disk0' }).catch(() => undefined);
      const cancelled = s.waitEvent('BLOCK_JOB_COMPLETED', undefined, { timeoutMs: 30_000 });
      await blockJobCancel(s, { device: 'mirror-disk0' });
      await cancelled;
      await queryBlockJobs(s);

      await mirrorUntilReady(s, 'mirror-disk0-pivot');
      const pivoted = s.waitEvent('BLOCK_JOB_COMPLETED', undefined, { timeoutMs: 30_000 });
      await blockJobComplete(s, { device: 'mirror-disk0-pivot' });
      await pivoted;
      await queryBlock(s);
      await blockdevDel(s, { 'node-name': 'disk0' });
      await quit(s);
      await s.closed;

      const deleted = t.waitEvent('BLOCK_EXPORT_DELETED', undefined, { timeoutMs: 10_000 });
      await blockExportDel(t, { id: 'export-disk0' });
      await deleted;
      await queryBlockExports(t);
      await nbdServerAdd(t, { device: 'disk0', name: 'legacy-disk0', writable: true });
      await queryBlockExports(t);
      await nbdServerStop(t);
      await nbdServerStop(t).catch(() => undefined);
      await blockdevDel(t, { 'node-name': 'disk0' });
      await quit(t);
      await source.save(
        'source: query-block, blockdev-add nbd client, blockdev-mirror to ready, cancel, mirror again, pivot',
      );
      await target.save(
        'target (-incoming defer, -S): nbd-server-start, blockdev-add qcow2, block-export-add, removal',
      );
    });
  },
);
