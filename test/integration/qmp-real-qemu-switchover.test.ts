// Steering a real QEMU 7.2 migration at its end: pause-before-switchover held until
// migrate-continue, migrate_cancel at pre-switchover (the source resumes by itself) and while RAM
// is still copied (the target QEMU exits). Every QEMU is killed after each test.

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  migrate,
  migrateCancel,
  migrateContinue,
  migrateIncoming,
  migrateSetCapabilities,
  migrateSetParameters,
  queryMigrate,
  queryStatus,
} from '../../src/qmp/index.js';
import { qemuAvailable } from '../../src/qmp/testing/test-qemu.js';
import { migrationReaches, TestQemuPool } from '../../src/qmp/testing/test-qemu-pool.js';

const pool = new TestQemuPool();

describe.skipIf(!qemuAvailable())('QEMU 7.2 migration switchover and cancel', () => {
  afterEach(() => pool.stopAll());
  afterAll(() => pool.dispose());

  it('holds the migration at pre-switchover until migrate-continue', async () => {
    const uri = `unix:${pool.dir}/migrate-switchover.sock`;
    const target = await pool.connect(pool.start({ name: 'target-sw', paused: true, incomingDefer: true }));
    const source = await pool.connect(pool.start({ name: 'source-sw' }));
    await migrateSetCapabilities(target, { capabilities: [{ capability: 'events', state: true }] });
    await migrateSetCapabilities(source, {
      capabilities: [
        { capability: 'events', state: true },
        { capability: 'pause-before-switchover', state: true },
      ],
    });
    await migrateIncoming(target, { uri });
    const preSwitchover = migrationReaches(source, 'pre-switchover');
    await migrate(source, { uri });
    await preSwitchover;
    expect((await queryMigrate(source)).status).toBe('pre-switchover');
    expect(await queryStatus(source)).toMatchObject({ status: 'finish-migrate', running: false });
    expect((await queryMigrate(target)).status).toBe('active');

    const completed = migrationReaches(source, 'completed');
    await migrateContinue(source, { state: 'pre-switchover' });
    await completed;
    expect((await queryStatus(source)).running).toBe(false);
  });

  it('cancelling at pre-switchover resumes the source vCPUs by itself', async () => {
    const uri = `unix:${pool.dir}/migrate-cancel-switchover.sock`;
    const target = await pool.connect(
      pool.start({ name: 'target-cancel-sw', paused: true, incomingDefer: true }),
    );
    const source = await pool.connect(pool.start({ name: 'source-cancel-sw' }));
    await migrateSetCapabilities(source, {
      capabilities: [
        { capability: 'events', state: true },
        { capability: 'pause-before-switchover', state: true },
      ],
    });
    await migrateIncoming(target, { uri });
    const preSwitchover = migrationReaches(source, 'pre-switchover');
    await migrate(source, { uri });
    await preSwitchover;
    expect((await queryStatus(source)).running).toBe(false);
    const resumed = source.waitEvent('RESUME', undefined, { timeoutMs: 10_000 });
    const cancelled = migrationReaches(source, 'cancelled');
    await migrateCancel(source);
    await Promise.all([resumed, cancelled]);
    expect(await queryStatus(source)).toMatchObject({ status: 'running', running: true });
  });

  it('cancels a migration: the source keeps running and the target QEMU exits on its own', async () => {
    const uri = `unix:${pool.dir}/migrate-cancel.sock`;
    const targetQemu = pool.start({ name: 'target-cancel', paused: true, incomingDefer: true });
    const target = await pool.connect(targetQemu);
    const source = await pool.connect(pool.start({ name: 'source-cancel' }));
    for (const session of [source, target]) {
      await migrateSetCapabilities(session, { capabilities: [{ capability: 'events', state: true }] });
    }
    await migrateSetParameters(source, { 'max-bandwidth': 32 * 1024 });
    await migrateIncoming(target, { uri });
    const active = migrationReaches(source, 'active');
    const targetFailed = migrationReaches(target, 'failed');
    await migrate(source, { uri });
    await active;
    const cancelled = migrationReaches(source, 'cancelled');
    await migrateCancel(source);
    await Promise.all([cancelled, targetFailed]);
    expect(await queryStatus(source)).toMatchObject({ status: 'running', running: true });
    await expect(target.closed).resolves.toMatchObject({ code: 'QMP_DISCONNECTED' });
    expect((await targetQemu.exited).code).toBe(1);
  });
});
