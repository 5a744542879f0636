// The source's undo list against the strict fake QMP server: a step's command fails, and the
// undos the steps registered before they acted run newest first, with live-copy's mirrors ended
// before migrate_cancel; an undo that fails is journaled as VMHOP_ERR_QMP and the rest still run.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeQmpHarness } from '../../../qmp/testing/fake-qmp-harness.js';
import type { PrepareReply } from '../../peers/peer-link.js';
import { attachNbdTargets } from './attach-nbd-targets.js';
import { mirrorJobs } from './mirror-jobs.js';
import { startMigration } from './start-migration.js';
import { startMirrors } from './start-mirrors.js';
import { asJobError, UndoList } from './undo-list.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

const JOB = '1234abcd-0000-4000-8000-000000000000';
const target: PrepareReply = {
  address: '127.0.0.1',
  port: 49152,
  nbd: {
    port: 49153,
    exports: [
      { target: 'vda', name: 'e-vda' },
      { target: 'vdb', name: 'e-vdb' },
    ],
  },
};
const gone = (desc: string) => ({ error: { class: 'GenericError', desc } });
const nbdNode = (disk: string) => ({
  driver: 'nbd',
  'node-name': `nbd-1234abcd-${disk}`,
  server: { type: 'inet', host: '127.0.0.1', port: '49153', 'keep-alive': true },
  export: `e-${disk}`,
  'reconnect-delay': 0,
  'tls-creds': 'vmhop-tls-nbd',
  'tls-hostname': '127.0.0.1',
});
const mirror = (disk: string) => ({
  'job-id': `mirror-1234abcd-${disk}`,
  device: `drive-${disk}`,
  target: `nbd-1234abcd-${disk}`,
  sync: 'full',
  speed: 0,
  'copy-mode': 'background',
  'on-target-error': 'report',
  'on-source-error': 'report',
});
const tls = (id: string) => ({
  'qom-type': 'tls-creds-x509',
  id,
  dir: '/etc/vmhop/tls',
  endpoint: 'client',
  'verify-peer': true,
});

async function sourceSetup() {
  const server = await harness.server();
  const qmp = await harness.connect(server);
  const journal: string[] = [];
  const undo = new UndoList((entry) => journal.push(entry));
  const aborted: string[] = [];
  undo.add('the target prepared its side (abort there)', async (cause) => aborted.push(cause.message));
  return { server, qmp, journal, undo, aborted };
}

describe('the source undo list', () => {
  it('cancels the started mirror and deletes both NBD nodes when the second blockdev-mirror fails', async () => {
    const { server, qmp, journal, undo, aborted } = await sourceSetup();
    const m = mirrorJobs(qmp, JOB, ['vda', 'vdb']);
    server.expect(
      {
        execute: 'object-del',
        arguments: { id: 'vmhop-tls-nbd' },
        reply: gone("object 'vmhop-tls-nbd' not found"),
      },
      { execute: 'object-add', arguments: tls('vmhop-tls-nbd') },
      { execute: 'blockdev-add', arguments: nbdNode('vda') },
      { execute: 'blockdev-add', arguments: nbdNode('vdb') },
      { execute: 'blockdev-mirror', arguments: mirror('vda') },
      {
        execute: 'blockdev-mirror',
        arguments: mirror('vdb'),
        reply: { error: { class: 'GenericError', desc: 'Permission conflict on node' } },
      },
      // The rollback: the jobs (the refused one is not there), then the nodes, then the TLS object.
      { execute: 'block-job-cancel', arguments: { device: 'mirror-1234abcd-vda', force: true } },
      {
        execute: 'block-job-cancel',
        arguments: { device: 'mirror-1234abcd-vdb', force: true },
        reply: { error: { class: 'DeviceNotActive', desc: "Block job 'mirror-1234abcd-vdb' not found" } },
      },
      { execute: 'query-block-jobs', reply: { return: [] } },
      { execute: 'blockdev-del', arguments: { 'node-name': 'nbd-1234abcd-vda' } },
      { execute: 'blockdev-del', arguments: { 'node-name': 'nbd-1234abcd-vdb' } },
      { execute: 'object-del', arguments: { id: 'vmhop-tls-nbd' } },
      { execute: 'query-block-jobs', reply: { return: [] } },
    );
    await attachNbdTargets(m, target, '/etc/vmhop/tls', undo);
    const failed = await startMirrors(m, { sync: () => 'full', copyMode: 'background', speedBps: 0 }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(asJobError(failed)).toMatchObject({
      code: 'VMHOP_ERR_QMP',
      details: {
        command: 'blockdev-mirror',
        errorClass: 'GenericError',
        desc: 'Permission conflict on node',
      },
    });
    expect(await undo.run(failed!)).toEqual([]);
    server.assertDone();
    expect(aborted).toEqual(['QMP blockdev-mirror failed (GenericError): Permission conflict on node']);
    expect(journal.filter((l) => l.startsWith('undone'))).toEqual([
      'undone: disk mirrors and NBD client nodes to 127.0.0.1:49153 (block-job-cancel, blockdev-del, object-del)',
      'undone: the target prepared its side (abort there)',
    ]);
  });

  it('ends the mirrors before migrate_cancel when migrate fails, resumes the guest, and journals a failed undo with its QMP details', async () => {
    const { server, qmp, journal, undo, aborted } = await sourceSetup();
    const m = mirrorJobs(qmp, JOB, ['vda']);
    server.expect(
      { execute: 'object-del', arguments: { id: 'vmhop-tls-nbd' } },
      { execute: 'object-add', arguments: tls('vmhop-tls-nbd') },
      { execute: 'blockdev-add', arguments: nbdNode('vda') },
      { execute: 'blockdev-mirror', arguments: mirror('vda') },
      { execute: 'object-del', arguments: { id: 'vmhop-tls' } },
      { execute: 'object-add', arguments: tls('vmhop-tls') },
      {
        execute: 'migrate',
        arguments: { uri: 'tcp:127.0.0.1:49152' },
        reply: { error: { class: 'GenericError', desc: 'Failed to connect to 127.0.0.1:49152' } },
      },
      // Newest first: the RAM undo ends the mirrors before it cancels...
      { execute: 'block-job-cancel', arguments: { device: 'mirror-1234abcd-vda', force: true } },
      { execute: 'query-block-jobs', reply: { return: [] } },
      { execute: 'blockdev-del', arguments: { 'node-name': 'nbd-1234abcd-vda' } },
      { execute: 'object-del', arguments: { id: 'vmhop-tls-nbd' } },
      { execute: 'query-block-jobs', reply: { return: [] } },
      { execute: 'migrate_cancel' },
      { execute: 'query-migrate', reply: { return: { status: 'failed' } } },
      // ...then the RAM stream's TLS object (refused here), then the guest runs again.
      {
        execute: 'object-del',
        arguments: { id: 'vmhop-tls' },
        reply: { error: { class: 'GenericError', desc: "object 'vmhop-tls' is in use" } },
      },
      { execute: 'query-status', reply: { return: { running: false, status: 'paused', singlestep: false } } },
      { execute: 'cont' },
    );
    const mirrors = await attachNbdTargets(m, target, '/etc/vmhop/tls', undo);
    await startMirrors(m, { sync: () => 'full', copyMode: 'background', speedBps: 0 });
    const failed = await startMigration(qmp, { capabilities: [], parameters: {} }, target, '/etc/vmhop/tls', {
      undo,
      wasRunning: true,
      beforeCancel: (cause) => mirrors!.runNow(cause),
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(failed?.message).toMatch(/QMP migrate failed/);
    const failures = await undo.run(failed!);
    server.assertDone();
    expect(failures.map((f) => [f.step, f.error.code, f.error.details])).toEqual([
      [
        'TLS object vmhop-tls (object-del)',
        'VMHOP_ERR_QMP',
        {
          qmpCode: 'QMP_COMMAND_FAILED',
          command: 'object-del',
          arguments: { id: 'vmhop-tls' },
          errorClass: 'GenericError',
          desc: "object 'vmhop-tls' is in use",
        },
      ],
    ]);
    expect(aborted).toHaveLength(1);
    expect(journal).toEqual([
      'undone: disk mirrors and NBD client nodes to 127.0.0.1:49153 (block-job-cancel, blockdev-del, object-del)',
      'undone: RAM stream started (migrate_cancel)',
      expect.stringMatching(
        /^undo of "TLS object vmhop-tls \(object-del\)" failed: VMHOP_ERR_QMP: QMP object-del failed .*"arguments":\{"id":"vmhop-tls"\}/,
      ),
      'undone: guest stopped for the switchover (cont)',
      'undone: the target prepared its side (abort there)',
    ]);
  });

  it('undoes nothing once forgotten (the commit happened, or nobody knows whether it did)', async () => {
    const journal: string[] = [];
    const undo = new UndoList((entry) => journal.push(entry));
    let ran = false;
    undo.add('guest stopped for the switchover (cont)', async () => (ran = true));
    undo.forget('the target committed');
    expect(await undo.run(new Error('later failure'))).toEqual([]);
    expect(ran).toBe(false);
    expect(journal).toEqual(['not undone (the target committed): guest stopped for the switchover (cont)']);
  });
});
