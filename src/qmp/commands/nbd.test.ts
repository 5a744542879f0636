// NBD server and export wrappers replayed against the QEMU 7.2 and 10.0 `nbd-export` transcript, and the
// legacy socket address nbd-server-start takes.

import { afterEach, describe, expect, it } from 'vitest';
import { transcriptVersions } from '../testing/transcript.js';
import { FakeQmpHarness } from '../testing/fake-qmp-harness.js';
import { blockdevAdd, blockdevDel } from './block.js';
import {
  blockExportAdd,
  blockExportDel,
  nbdServerAdd,
  nbdServerStart,
  nbdServerStop,
  queryBlockExports,
} from './nbd.js';
import { quit } from './run-state.js';
import { toSocketAddressLegacy } from './socket-address.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

const dir = '/tmp/vmhop-qmp-record-block';

describe.each(transcriptVersions)('NBD export commands against the recorded QEMU %s target', (version) => {
  it('serves a qcow2 node over NBD and takes it down again', async () => {
    const { server, session } = await harness.replay('nbd-export', version);
    await nbdServerStart(session, { addr: { type: 'unix', path: `${dir}/nbd.sock` } });
    await expect(
      nbdServerStart(session, { addr: { type: 'unix', path: `${dir}/second.sock` } }),
    ).rejects.toMatchObject({
      desc: 'NBD server already running',
    });
    await blockdevAdd(session, {
      driver: 'qcow2',
      'node-name': 'disk0',
      file: { driver: 'file', 'node-name': 'disk0-file', filename: `${dir}/target.qcow2` },
    });
    await blockExportAdd(session, {
      type: 'nbd',
      id: 'export-disk0',
      'node-name': 'disk0',
      name: 'disk0',
      writable: true,
    });
    expect(await queryBlockExports(session)).toEqual([
      { 'node-name': 'disk0', 'shutting-down': false, type: 'nbd', id: 'export-disk0' },
    ]);
    await expect(blockExportDel(session, { id: 'export-disk0' })).rejects.toMatchObject({
      errorClass: 'GenericError',
      desc: "export 'export-disk0' still in use",
    });
    const deleted = session.waitEvent('BLOCK_EXPORT_DELETED', undefined, { timeoutMs: 1000 });
    await blockExportDel(session, { id: 'export-disk0' });
    expect((await deleted).data).toEqual({ id: 'export-disk0' });
    expect(await queryBlockExports(session)).toEqual([]);
    await nbdServerAdd(session, { device: 'disk0', name: 'legacy-disk0', writable: true });
    expect((await queryBlockExports(session))[0]?.id).toBe('legacy-disk0');
    await nbdServerStop(session);
    await expect(nbdServerStop(session)).rejects.toMatchObject({ desc: 'NBD server not running' });
    await blockdevDel(session, { 'node-name': 'disk0' });
    await quit(session);
    server.assertDone();
  });

  it('converts a flat socket address to the legacy form nbd-server-start takes', () => {
    expect(toSocketAddressLegacy({ type: 'unix', path: '/run/nbd.sock' })).toEqual({
      type: 'unix',
      data: { path: '/run/nbd.sock' },
    });
    expect(toSocketAddressLegacy({ type: 'inet', host: '10.0.0.2', port: '10809' })).toEqual({
      type: 'inet',
      data: { host: '10.0.0.2', port: '10809' },
    });
  });
});
