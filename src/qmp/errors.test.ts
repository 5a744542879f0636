// QmpError, and the error replies real QEMU 7.2 and 10.0 give to refused commands (replayed from the
// recorded `errors` transcript).

import { afterEach, describe, expect, it } from 'vitest';
import { isQmpError, QmpError } from './errors.js';
import {
  migrate,
  migrateContinue,
  migrateIncoming,
  migratePause,
  migrateRecover,
} from './commands/migration.js';
import { migrateSetParameters, migrateStartPostcopy, queryMigrate } from './commands/migration.js';
import { FakeQmpHarness } from './testing/fake-qmp-harness.js';
import { transcriptVersions } from './testing/transcript.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

describe('QmpError', () => {
  it('is matched by code with isQmpError', () => {
    const error = new QmpError('QMP_TIMEOUT', 'QMP query-migrate timed out after 5 ms', {
      command: 'query-migrate',
    });
    expect(isQmpError(error)).toBe(true);
    expect(isQmpError(error, 'QMP_TIMEOUT')).toBe(true);
    expect(isQmpError(error, 'QMP_ABORTED')).toBe(false);
    expect(isQmpError(new Error('x'))).toBe(false);
    expect(error.name).toBe('QmpError');
  });

  it.each(transcriptVersions)(
    "reports QEMU %s's refusals with the command, its arguments and QEMU's text",
    async (version) => {
      const { server, session } = await harness.replay('errors', version);
      const failures: unknown[] = [];
      const attempt = (promise: Promise<unknown>): Promise<void> =>
        promise.then(
          () => undefined,
          (e) => void failures.push(e),
        );
      await attempt(session.execute('no-such-command'));
      await attempt(migrate(session, { uri: 'bogus:x' }));
      await attempt(migrateSetParameters(session, { 'downtime-limit': 300_000_000 }));
      await attempt(
        session.execute('migrate-set-capabilities', {
          capabilities: [{ capability: 'no-such-capability', state: true }],
        }),
      );
      await attempt(migrateContinue(session, { state: 'pre-switchover' }));
      await attempt(migratePause(session));
      await attempt(migrateRecover(session, { uri: 'unix:/tmp/vmhop-qmp-record/recover.sock' }));
      await attempt(migrateStartPostcopy(session));
      await attempt(migrateIncoming(session, { uri: 'unix:/tmp/vmhop-qmp-record/incoming.sock' }));
      for (const [command, args] of [
        ['blockdev-del', { 'node-name': 'no-such-node' }],
        ['block-job-complete', { device: 'no-such-job' }],
        ['block-job-cancel', { device: 'no-such-job' }],
        ['nbd-server-stop', undefined],
        ['block-export-del', { id: 'no-such-export' }],
        ['object-del', { id: 'no-such-object' }],
      ] as const) {
        await attempt(session.execute(command, args));
      }
      expect(failures).toHaveLength(15);
      expect(failures.every((failure) => isQmpError(failure, 'QMP_COMMAND_FAILED'))).toBe(true);
      expect(failures[0]).toMatchObject({ errorClass: 'CommandNotFound', command: 'no-such-command' });
      expect(failures[8]).toMatchObject({
        message:
          "QMP migrate-incoming failed (GenericError): '-incoming' was not specified on the command line",
        arguments: { uri: 'unix:/tmp/vmhop-qmp-record/incoming.sock' },
      });
      expect(failures[10]).toMatchObject({ errorClass: 'DeviceNotActive' });
      await migrate(session, { uri: 'unix:/tmp/vmhop-qmp-record/nobody-listens.sock' });
      // 7.2 fails at once; 10.0 connects asynchronously and is still in setup right after `migrate`.
      let failed = await queryMigrate(session);
      if (version !== '7.2') expect(failed.status).toBe('setup');
      while (failed.status === 'setup') failed = await queryMigrate(session);
      expect(failed.status).toBe('failed');
      expect(failed['error-desc']).toMatch(/Failed to connect/);
      server.assertDone();
    },
  );
});
