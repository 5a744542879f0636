// What a lost or closed connection does to a session: every pending command fails with its
// command and arguments kept, `closed` says why, later commands are not sent.

import { afterEach, describe, expect, it } from 'vitest';
import type { QmpError } from './errors.js';
import { FakeQmpHarness } from './testing/fake-qmp-harness.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

const nbdNode = {
  driver: 'nbd',
  'node-name': 'target-disk0',
  server: { type: 'unix', path: '/run/nbd.sock' },
};

describe('QmpSession when the connection ends', () => {
  it('rejects every pending command with QMP_DISCONNECTED, keeping each command and its arguments', async () => {
    const server = await harness.server();
    server.expect(
      { execute: 'migrate', arguments: { uri: 'unix:/run/migrate.sock' }, hold: true },
      { execute: 'query-migrate', hold: true },
      { execute: 'blockdev-add', arguments: nbdNode, fault: { kind: 'drop' } },
    );
    const session = await harness.connect(server);
    const outcomes = await Promise.allSettled([
      session.execute('migrate', { uri: 'unix:/run/migrate.sock' }),
      session.execute('query-migrate'),
      session.execute('blockdev-add', nbdNode),
    ]);
    const errors = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason as QmpError);
    expect(errors.map((error) => [error.code, error.command, error.arguments])).toEqual([
      ['QMP_DISCONNECTED', 'migrate', { uri: 'unix:/run/migrate.sock' }],
      ['QMP_DISCONNECTED', 'query-migrate', undefined],
      ['QMP_DISCONNECTED', 'blockdev-add', nbdNode],
    ]);
    expect(errors[0]?.message).toBe('QMP migrate failed: QEMU closed the QMP connection');
    server.assertDone();
  });

  it('resolves `closed` with the reason when QEMU goes away', async () => {
    const server = await harness.server();
    const session = await harness.connect(server);
    server.dropConnection();
    await expect(session.closed).resolves.toMatchObject({ code: 'QMP_DISCONNECTED' });
    expect(session.isClosed).toBe(true);
  });

  it('rejects a command issued after the end without sending it', async () => {
    const server = await harness.server();
    const session = await harness.connect(server);
    server.dropConnection();
    await session.closed;
    await expect(session.execute('cont')).rejects.toMatchObject({
      code: 'QMP_DISCONNECTED',
      command: 'cont',
      message: 'QMP cont not sent: QEMU closed the QMP connection',
    });
    server.assertDone();
  });

  it('close() rejects pending commands and resolves `closed` with undefined', async () => {
    const server = await harness.server();
    server.expect({ execute: 'query-migrate', fault: { kind: 'no-reply' } });
    const session = await harness.connect(server);
    const pending = session.execute('query-migrate');
    await server.waitForCommand('query-migrate');
    await session.close();
    await expect(pending).rejects.toMatchObject({ code: 'QMP_DISCONNECTED', command: 'query-migrate' });
    await expect(session.closed).resolves.toBeUndefined();
    server.assertDone();
  });
});
