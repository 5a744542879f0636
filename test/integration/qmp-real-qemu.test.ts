// The QMP client against a real qemu-system-x86_64 (TCG, no guest): connecting while QEMU starts,
// commands and events, QEMU's own errors, the line cap, quit, and a real migration between two
// QEMUs over a unix socket that reaches `completed`. Every QEMU is killed after each test.

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  cont,
  migrate,
  migrateIncoming,
  migrateSetCapabilities,
  queryCpuDefinitions,
  queryMigrate,
  queryStatus,
  queryVersion,
  quit,
  stop,
} from '../../src/qmp/index.js';
import { qemuAvailable } from '../../src/qmp/testing/test-qemu.js';
import { migrationReaches, TestQemuPool } from '../../src/qmp/testing/test-qemu-pool.js';

const pool = new TestQemuPool();

describe.skipIf(!qemuAvailable())('QMP client against real QEMU 7.2', () => {
  afterEach(() => pool.stopAll());
  afterAll(() => pool.dispose());

  it('connects to a QEMU that is still starting, then runs commands and sees STOP and RESUME', async () => {
    const instance = pool.start({ paused: true, name: 'basic' });
    const session = await pool.connect(instance);
    expect(session.greeting.version.qemu.major).toBeGreaterThanOrEqual(7);
    expect(await queryVersion(session)).toEqual(session.greeting.version);
    expect(await queryStatus(session)).toMatchObject({ status: 'prelaunch', running: false });

    const events = session.events(['STOP', 'RESUME']);
    await cont(session);
    await stop(session);
    const first = await events.next();
    const second = await events.next();
    await events.return();
    expect([first.value?.event, second.value?.event]).toEqual(['RESUME', 'STOP']);
    expect((await queryStatus(session)).status).toBe('paused');
  });

  it('matches many concurrent commands to their replies', async () => {
    const session = await pool.connect(pool.start({ paused: true, name: 'concurrent' }));
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? queryStatus(session) : queryVersion(session))),
    );
    replies.forEach((reply, i) => expect(reply).toHaveProperty(i % 2 === 0 ? 'status' : 'qemu'));
  });

  it("reports QEMU's own error class and text", async () => {
    const session = await pool.connect(pool.start({ paused: true, name: 'errors' }));
    await expect(migrateIncoming(session, { uri: `unix:${pool.dir}/nowhere.sock` })).rejects.toMatchObject({
      code: 'QMP_COMMAND_FAILED',
      command: 'migrate-incoming',
      errorClass: 'GenericError',
      desc: "'-incoming' was not specified on the command line",
    });
    await expect(session.execute('no-such-command')).rejects.toMatchObject({ errorClass: 'CommandNotFound' });
    expect((await queryStatus(session)).status).toBe('prelaunch');
  });

  it('drops the connection when a real reply is longer than the line cap', async () => {
    const session = await pool.connect(pool.start({ paused: true, name: 'cap' }), { maxLineBytes: 1024 });
    await expect(queryCpuDefinitions(session)).rejects.toMatchObject({
      code: 'QMP_DISCONNECTED',
      cause: { code: 'QMP_LINE_TOO_LONG' },
    });
    await expect(session.closed).resolves.toMatchObject({ code: 'QMP_LINE_TOO_LONG' });
  });

  it('quits QEMU: SHUTDOWN, then the connection closes and the process exits', async () => {
    const instance = pool.start({ paused: true, name: 'quit' });
    const session = await pool.connect(instance);
    const shutdown = session.waitEvent('SHUTDOWN', undefined, { timeoutMs: 5000 });
    await quit(session);
    expect((await shutdown).data.reason).toBe('host-qmp-quit');
    await expect(session.closed).resolves.toMatchObject({ code: 'QMP_DISCONNECTED' });
    await expect(instance.exited).resolves.toEqual({ code: 0, signal: null });
  });

  it('migrates a running VM to a target started with -incoming defer', async () => {
    const uri = `unix:${pool.dir}/migrate-plain.sock`;
    const target = await pool.connect(pool.start({ name: 'target', paused: true, incomingDefer: true }));
    const source = await pool.connect(pool.start({ name: 'source' }));
    for (const session of [source, target]) {
      await migrateSetCapabilities(session, { capabilities: [{ capability: 'events', state: true }] });
    }
    await migrateIncoming(target, { uri });
    const targetDone = migrationReaches(target, 'completed');
    const sourceDone = migrationReaches(source, 'completed');
    await migrate(source, { uri });
    await Promise.all([sourceDone, targetDone]);

    const info = await queryMigrate(source);
    expect(info).toMatchObject({ status: 'completed', ram: { remaining: 0 } });
    expect(info.ram?.transferred).toBeGreaterThan(0);
    // Right after MIGRATION completed the source may still report finish-migrate: QEMU 7.2 moves
    // the run state to postmigrate a moment later. Either way its vCPUs are stopped.
    const sourceState = await queryStatus(source);
    expect(sourceState.running).toBe(false);
    expect(['finish-migrate', 'postmigrate']).toContain(sourceState.status);
    expect((await queryStatus(target)).status).toBe('paused');
    await cont(target);
    expect((await queryStatus(target)).status).toBe('running');
  });
});
