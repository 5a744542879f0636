// Migration wrappers replayed against QEMU 7.2 and 10.0 transcripts of real migrations: precopy with
// pause-before-switchover (both sides) and postcopy paused and recovered (both sides).

import { afterEach, describe, expect, it } from 'vitest';
import { transcriptVersions } from '../testing/transcript.js';
import { FakeQmpHarness } from '../testing/fake-qmp-harness.js';
import { cont, queryStatus, quit } from './run-state.js';
import {
  migrate,
  migrateCancel,
  migrateContinue,
  migrateIncoming,
  migratePause,
  migrateRecover,
  migrateSetCapabilities,
  migrateSetParameters,
  migrateStartPostcopy,
  queryMigrate,
  queryMigrateCapabilities,
  queryMigrateParameters,
} from './migration.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

const dir = '/tmp/vmhop-qmp-record-migration';
const events = { capability: 'events', state: true } as const;

/** Where the recorded QEMUs differ. */
const recorded = {
  // 10.0 dropped block and compress, and added switchover-ack, dirty-limit and mapped-ram.
  '7.2': { capabilities: 21, incomingStatus: {} },
  // 10.0 reports `setup` on a target between migrate-incoming and the first byte; 7.2 no status.
  '10.0': { capabilities: 22, incomingStatus: { status: 'setup' } },
} as const;

describe.each(transcriptVersions)('migration commands against recorded QEMU %s sessions', (version) => {
  it('drives the source through pause-before-switchover to completed', async () => {
    const { server, session: s } = await harness.replay('migration-source', version);
    expect(await queryMigrate(s)).toEqual({});
    const capabilities = await queryMigrateCapabilities(s);
    expect(capabilities).toHaveLength(recorded[version].capabilities);
    expect(capabilities.every((capability) => !capability.state)).toBe(true);
    expect(await queryMigrateParameters(s)).toMatchObject({
      'downtime-limit': 300,
      'max-bandwidth': 134217728,
    });
    await migrateSetCapabilities(s, {
      capabilities: [events, { capability: 'pause-before-switchover', state: true }],
    });
    await migrateSetParameters(s, { 'max-bandwidth': 256 * 1024, 'downtime-limit': 300 });
    const preSwitchover = s.waitEvent('MIGRATION', (e) => e.data.status === 'pre-switchover', {
      timeoutMs: 1000,
    });
    await migrate(s, { uri: `unix:${dir}/migrate.sock` });
    const active = await queryMigrate(s);
    expect(active.status).toBe('active');
    expect(active.ram?.total).toBe(67641344);
    await preSwitchover;
    expect((await queryMigrate(s)).status).toBe('pre-switchover');
    expect((await queryStatus(s)).status).toBe('finish-migrate');
    await migrateContinue(s, { state: 'pre-switchover' });
    const done = await queryMigrate(s);
    expect(done).toMatchObject({ status: 'completed', ram: { remaining: 0 } });
    expect(done.downtime).toBeGreaterThan(0);
    expect((await queryStatus(s)).status).toBe('postmigrate');
    await quit(s);
    server.assertDone();
  });

  it('accepts the migration on a target started with -incoming defer', async () => {
    const { server, session: t } = await harness.replay('migration-target', version);
    expect((await queryStatus(t)).status).toBe('inmigrate');
    await migrateSetCapabilities(t, { capabilities: [events] });
    await migrateIncoming(t, { uri: `unix:${dir}/migrate.sock` });
    expect(await queryMigrate(t)).toEqual({
      ...recorded[version].incomingStatus,
      'socket-address': [{ path: `${dir}/migrate.sock`, type: 'unix' }],
    });
    expect((await queryStatus(t)).status).toBe('inmigrate');
    expect((await queryMigrate(t)).status).toBe('active');
    expect(await queryMigrate(t)).toEqual({ status: 'completed' });
    expect((await queryStatus(t)).status).toBe('paused');
    await cont(t);
    expect((await queryStatus(t)).status).toBe('running');
    await quit(t);
    server.assertDone();
  });

  it('pauses a postcopy migration on the source and resumes it on a new channel', async () => {
    const { server, session: s } = await harness.replay('postcopy-source', version);
    const capabilities = [events, { capability: 'postcopy-ram', state: true } as const];
    await migrateSetCapabilities(s, { capabilities });
    await migrateSetParameters(s, { 'max-bandwidth': 32 * 1024, 'max-postcopy-bandwidth': 32 * 1024 });
    await migrate(s, { uri: `unix:${dir}/postcopy.sock` });
    await migrateStartPostcopy(s);
    expect((await queryMigrate(s)).status).toBe('postcopy-active');
    await migratePause(s);
    expect((await queryMigrate(s)).status).toBe('postcopy-paused');
    await migrateSetParameters(s, { 'max-bandwidth': 0, 'max-postcopy-bandwidth': 0 });
    await migrate(s, { uri: `unix:${dir}/postcopy-recover.sock`, resume: true });
    expect((await queryMigrate(s)).status).toBe('completed');
    await quit(s);
    server.assertDone();
  });

  it('recovers a paused postcopy migration on the target', async () => {
    const { server, session: t } = await harness.replay('postcopy-target', version);
    await migrateSetCapabilities(t, { capabilities: [events, { capability: 'postcopy-ram', state: true }] });
    await migrateIncoming(t, { uri: `unix:${dir}/postcopy.sock` });
    expect((await queryMigrate(t)).status).toBe('postcopy-paused');
    await migrateRecover(t, { uri: `unix:${dir}/postcopy-recover.sock` });
    expect((await queryStatus(t)).status).toBe('running');
    await quit(t);
    server.assertDone();
  });

  it('cancels a running migration on the source, which keeps running', async () => {
    const { server, session: s } = await harness.replay('migration-cancel-source', version);
    await migrateSetCapabilities(s, { capabilities: [events] });
    await migrateSetParameters(s, { 'max-bandwidth': 32 * 1024 });
    const cancelled = s.waitEvent('MIGRATION', (e) => e.data.status === 'cancelled', { timeoutMs: 1000 });
    await migrate(s, { uri: `unix:${dir}/cancel.sock` });
    await migrateCancel(s);
    await cancelled;
    expect(await queryMigrate(s)).toEqual({ status: 'cancelled' });
    expect(await queryStatus(s)).toMatchObject({ status: 'running', running: true });
    await quit(s);
    server.assertDone();
  });
});
