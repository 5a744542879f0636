// Records transcripts of real migrations between two QEMU processes (the installed one, or
// VMHOP_RECORD_QEMU=path) over a unix socket:
// precopy with pause-before-switchover (source and target side), and postcopy with a
// migrate-pause / migrate-recover round. Only runs with VMHOP_RECORD_QMP=1 (it rewrites fixtures).

import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cont,
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
  queryStatus,
  quit,
} from '../../src/qmp/index.js';
import { recordSession } from '../../src/qmp/testing/record-transcript.js';
import { qemuAvailable, qemuVersionText } from '../../src/qmp/testing/test-qemu.js';
import { migrationReaches, TestQemuPool } from '../../src/qmp/testing/test-qemu-pool.js';

const recordDir = '/tmp/vmhop-qmp-record-migration';
const recording = process.env['VMHOP_RECORD_QMP'] === '1' && qemuAvailable();
/** Another QEMU than the installed one, e.g. the 7.2 of scripts/qemu-7.2.sh. */
const recordQemu = process.env['VMHOP_RECORD_QEMU'];

const pool = new TestQemuPool(recordDir, recordQemu);

describe.skipIf(!recording)(
  `recording QMP transcripts from ${qemuVersionText(recordQemu)} (migration)`,
  () => {
    beforeAll(() => {
      rmSync(recordDir, { recursive: true, force: true });
      mkdirSync(recordDir, { recursive: true });
    });
    afterEach(() => pool.stopAll());
    afterAll(() => pool.dispose());

    it('records a precopy migration that pauses before switchover', async () => {
      const uri = `unix:${recordDir}/migrate.sock`;
      const target = await recordSession(
        'migration-target',
        pool.start({ name: 'target', paused: true, incomingDefer: true }),
      );
      const source = await recordSession('migration-source', pool.start({ name: 'source' }));
      const t = target.session;
      const s = source.session;

      await queryStatus(t);
      await migrateSetCapabilities(t, { capabilities: [{ capability: 'events', state: true }] });
      await migrateIncoming(t, { uri });
      await queryMigrate(t);
      await queryStatus(t);
      const targetCompleted = migrationReaches(t, 'completed', 30_000);

      await queryMigrate(s);
      await queryMigrateCapabilities(s);
      await queryMigrateParameters(s);
      await migrateSetCapabilities(s, {
        capabilities: [
          { capability: 'events', state: true },
          { capability: 'pause-before-switchover', state: true },
        ],
      });
      await migrateSetParameters(s, { 'max-bandwidth': 256 * 1024, 'downtime-limit': 300 });
      const active = migrationReaches(s, 'active', 30_000);
      const preSwitchover = migrationReaches(s, 'pre-switchover', 30_000);
      await migrate(s, { uri });
      await active;
      await queryMigrate(s);
      await queryMigrate(t);
      await preSwitchover;
      await queryMigrate(s);
      await queryStatus(s);
      const sourceCompleted = migrationReaches(s, 'completed', 30_000);
      await migrateContinue(s, { state: 'pre-switchover' });
      await sourceCompleted;
      await queryMigrate(s);
      await queryStatus(s);
      await targetCompleted;
      await queryMigrate(t);
      await queryStatus(t);
      const resumed = t.waitEvent('RESUME', undefined, { timeoutMs: 5000 });
      await cont(t);
      await resumed;
      await queryStatus(t);
      await quit(s);
      await quit(t);
      await source.save('source of a precopy migration over unix: with events and pause-before-switchover');
      await target.save('target (-incoming defer, -S) of a precopy migration; resumed with cont afterwards');
    });

    it('records a postcopy migration paused and recovered', async () => {
      const uri = `unix:${recordDir}/postcopy.sock`;
      const recoverUri = `unix:${recordDir}/postcopy-recover.sock`;
      const target = await recordSession(
        'postcopy-target',
        pool.start({ name: 'pc-target', incomingDefer: true }),
      );
      const source = await recordSession('postcopy-source', pool.start({ name: 'pc-source' }));
      const t = target.session;
      const s = source.session;
      const capabilities = {
        capabilities: [
          { capability: 'events', state: true },
          { capability: 'postcopy-ram', state: true },
        ],
      } as const;
      await migrateSetCapabilities(t, { capabilities: [...capabilities.capabilities] });
      await migrateIncoming(t, { uri });
      await migrateSetCapabilities(s, { capabilities: [...capabilities.capabilities] });
      // Slow enough that postcopy is still running when we pause it.
      await migrateSetParameters(s, { 'max-bandwidth': 32 * 1024, 'max-postcopy-bandwidth': 32 * 1024 });
      const active = migrationReaches(s, 'active', 30_000);
      await migrate(s, { uri });
      await active;
      const postcopy = migrationReaches(s, 'postcopy-active', 30_000);
      // Cutting the channel before the target has loaded the device state and resumed makes the
      // target QEMU exit ("postcopy_ram_listen_thread: loadvm failed: -5"): wait for its RESUME.
      const targetRunning = t.waitEvent('RESUME', undefined, { timeoutMs: 30_000 });
      await migrateStartPostcopy(s);
      await postcopy;
      await targetRunning;
      await queryMigrate(s);
      const sourcePaused = migrationReaches(s, 'postcopy-paused', 30_000);
      const targetPaused = migrationReaches(t, 'postcopy-paused', 30_000);
      await migratePause(s);
      await sourcePaused;
      await targetPaused;
      await queryMigrate(s);
      await queryMigrate(t);
      await migrateRecover(t, { uri: recoverUri });
      await migrateSetParameters(s, { 'max-bandwidth': 0, 'max-postcopy-bandwidth': 0 });
      const sourceCompleted = migrationReaches(s, 'completed', 30_000);
      const targetCompleted = migrationReaches(t, 'completed', 30_000);
      await migrate(s, { uri: recoverUri, resume: true });
      await sourceCompleted;
      await targetCompleted;
      await queryMigrate(s);
      expect((await queryStatus(t)).status).toBe('running');
      await quit(s);
      await quit(t);
      await source.save(
        'source of a postcopy migration: migrate-start-postcopy, migrate-pause, migrate resume',
      );
      await target.save(
        'target of a postcopy migration (autostarts, no -S): paused by the source, migrate-recover',
      );
    });

    it('records a migration cancelled by the source', async () => {
      const uri = `unix:${recordDir}/cancel.sock`;
      const targetQemu = pool.start({ name: 'cancel-target', paused: true, incomingDefer: true });
      const target = await recordSession('migration-cancel-target', targetQemu);
      const source = await recordSession('migration-cancel-source', pool.start({ name: 'cancel-source' }));
      const t = target.session;
      const s = source.session;
      await migrateSetCapabilities(t, { capabilities: [{ capability: 'events', state: true }] });
      await migrateIncoming(t, { uri });
      await migrateSetCapabilities(s, { capabilities: [{ capability: 'events', state: true }] });
      await migrateSetParameters(s, { 'max-bandwidth': 32 * 1024 });
      const active = migrationReaches(s, 'active', 30_000);
      await migrate(s, { uri });
      await active;
      const cancelled = migrationReaches(s, 'cancelled', 30_000);
      const targetFailed = migrationReaches(t, 'failed', 30_000);
      await migrateCancel(s);
      await cancelled;
      await queryMigrate(s);
      await queryStatus(s);
      await targetFailed;
      await t.closed;
      await targetQemu.exited;
      await quit(s);
      await source.save('source cancels a running precopy migration (migrate_cancel); it keeps running');
      await target.save('target of a cancelled migration: MIGRATION failed, then QEMU exits on its own');
    });
  },
);
