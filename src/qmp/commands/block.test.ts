// Block node and block job wrappers replayed against the QEMU 7.2 and 10.0 `block-mirror` transcript: a disk
// mirrored into an NBD node, ended without pivot (cancel when ready) and with a pivot.

import { afterEach, describe, expect, it } from 'vitest';
import { transcriptVersions } from '../testing/transcript.js';
import { FakeQmpHarness } from '../testing/fake-qmp-harness.js';
import { blockdevAdd, blockdevDel, queryBlock, queryNamedBlockNodes } from './block.js';
import { blockdevMirror, blockJobCancel, blockJobComplete, queryBlockJobs } from './block-jobs.js';
import { quit } from './run-state.js';
import type { QmpSession } from '../session.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

const dir = '/tmp/vmhop-qmp-record-block';

async function mirrorUntilReady(session: QmpSession, jobId: string): Promise<void> {
  const ready = session.waitEvent('BLOCK_JOB_READY', (event) => event.data.device === jobId, {
    timeoutMs: 1000,
  });
  await blockdevMirror(session, { 'job-id': jobId, device: 'disk0', target: 'target-disk0', sync: 'full' });
  expect((await ready).data).toEqual({
    device: jobId,
    len: 16777216,
    offset: 16777216,
    speed: 0,
    type: 'mirror',
  });
  const [job] = await queryBlockJobs(session);
  expect(job).toMatchObject({ device: jobId, status: 'ready', ready: true, type: 'mirror' });
}

describe.each(transcriptVersions)(
  'block commands against the recorded QEMU %s mirror into an NBD export',
  (version) => {
    it('mirrors a disk to the NBD node, ends it without pivot, then with a pivot', async () => {
      const { server, session } = await harness.replay('block-mirror', version);
      const [disk] = await queryBlock(session);
      expect(disk).toMatchObject({ device: '', qdev: '/machine/peripheral/vd0/virtio-backend' });
      expect(disk?.inserted).toMatchObject({
        'node-name': 'disk0',
        drv: 'qcow2',
        image: { 'virtual-size': 16777216 },
      });
      const nodes = await queryNamedBlockNodes(session, { flat: true });
      expect(nodes.map((node) => node.drv)).toEqual(['qcow2', 'file']);
      await blockdevAdd(session, {
        driver: 'nbd',
        'node-name': 'target-disk0',
        server: { type: 'unix', path: `${dir}/nbd.sock` },
        export: 'disk0',
      });
      await mirrorUntilReady(session, 'mirror-disk0');
      const completed = session.waitEvent('BLOCK_JOB_COMPLETED', undefined, { timeoutMs: 1000 });
      await blockJobCancel(session, { device: 'mirror-disk0' });
      expect((await completed).data).not.toHaveProperty('error');
      expect(await queryBlockJobs(session)).toEqual([]);

      await mirrorUntilReady(session, 'mirror-disk0-pivot');
      const pivoted = session.waitEvent('BLOCK_JOB_COMPLETED', undefined, { timeoutMs: 1000 });
      await blockJobComplete(session, { device: 'mirror-disk0-pivot' });
      await pivoted;
      const [afterPivot] = await queryBlock(session);
      expect(afterPivot?.inserted).toMatchObject({ 'node-name': 'target-disk0', drv: 'nbd' });
      await blockdevDel(session, { 'node-name': 'disk0' });
      await quit(session);
      server.assertDone();
    });
  },
);
