// QMP events: the async iterator, filtering, race-free waitEvent (events QEMU sends before the
// reply), and how waits and streams end on timeout, abort, close and disconnect.

import { afterEach, describe, expect, it } from 'vitest';
import { isQmpEvent, type QmpAnyEvent } from './events.js';
import { FakeQmpHarness } from './testing/fake-qmp-harness.js';
import {
  loadTranscript,
  recordedEvents,
  recordedReply,
  replayExpectations,
  transcriptVersions,
} from './testing/transcript.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

describe.each(transcriptVersions)('QMP events (recorded from QEMU %s)', (version) => {
  const migrationSource = loadTranscript('migration-source', version);
  const runState = loadTranscript('run-state', version);
  const migrateExchange = replayExpectations(migrationSource).find(
    (expectation) => expectation.execute === 'migrate',
  );
  if (!migrateExchange) throw new Error('migration-source transcript has no migrate');
  const migrateArgs = migrateExchange.arguments as Record<string, unknown>;

  async function migratingSession() {
    const server = await harness.server();
    server.expect(migrateExchange as NonNullable<typeof migrateExchange>);
    const session = await harness.connect(server);
    return { server, session };
  }

  function recordedStop() {
    const stop = replayExpectations(runState).find((expectation) => expectation.execute === 'stop');
    if (!stop) throw new Error('run-state transcript has no stop');
    expect(stop.reply).toEqual(recordedReply(runState, 'stop'));
    return stop;
  }

  it('delivers events in the order QEMU sent them through the async iterator', async () => {
    const { server, session } = await migratingSession();
    const seen: QmpAnyEvent[] = [];
    const stream = session.events();
    await session.execute('migrate', migrateArgs);
    for await (const event of stream) {
      seen.push(event);
      if (isQmpEvent(event, 'MIGRATION') && event.data.status === 'active') break;
    }
    expect(seen.map((event) => event.event)).toEqual(['MIGRATION', 'MIGRATION_PASS', 'MIGRATION']);
    expect(seen[0]).toEqual(recordedEvents(migrationSource, 'MIGRATION')[0]);
    server.assertDone();
  });

  it('filters the stream to the named events, typed', async () => {
    const { server, session } = await migratingSession();
    const passes = session.events(['MIGRATION_PASS']);
    await session.execute('migrate', migrateArgs);
    const first = await passes.next();
    expect(first.value?.data.pass).toBe(1);
    await passes.return();
    server.assertDone();
  });

  it('waitEvent sees an event QEMU sends before the reply of the command that caused it', async () => {
    const server = await harness.server();
    const cont = replayExpectations(runState).find((expectation) => expectation.execute === 'cont');
    expect(cont?.eventsBefore?.map((event) => event.event)).toEqual(['RESUME']);
    server.expect(cont as NonNullable<typeof cont>);
    const session = await harness.connect(server);
    const resumed = session.waitEvent('RESUME', undefined, { timeoutMs: 1000 });
    await session.execute('cont');
    await expect(resumed).resolves.toMatchObject({ event: 'RESUME' });
    server.assertDone();
  });

  it('waitEvent skips events the predicate rejects', async () => {
    const { server, session } = await migratingSession();
    const active = session.waitEvent('MIGRATION', (event) => event.data.status === 'active', {
      timeoutMs: 1000,
    });
    await session.execute('migrate', migrateArgs);
    await expect(active).resolves.toMatchObject({ data: { status: 'active' } });
    server.assertDone();
  });

  it('waitEvent rejects with QMP_TIMEOUT when the event does not come in time', async () => {
    const server = await harness.server();
    const session = await harness.connect(server);
    await expect(session.waitEvent('STOP', undefined, { timeoutMs: 30 })).rejects.toMatchObject({
      code: 'QMP_TIMEOUT',
      message: 'no QMP event STOP within 30 ms',
    });
  });

  it('waitEvent rejects with QMP_ABORTED when its signal fires', async () => {
    const server = await harness.server();
    const session = await harness.connect(server);
    const controller = new AbortController();
    const wait = session.waitEvent('BLOCK_JOB_READY', undefined, {
      timeoutMs: 10_000,
      signal: controller.signal,
    });
    controller.abort();
    await expect(wait).rejects.toMatchObject({ code: 'QMP_ABORTED' });
  });

  it('waitEvent rejects with QMP_DISCONNECTED when QEMU goes away', async () => {
    const server = await harness.server();
    const session = await harness.connect(server);
    const wait = session.waitEvent('SHUTDOWN', undefined, { timeoutMs: 10_000 });
    server.dropConnection();
    await expect(wait).rejects.toMatchObject({ code: 'QMP_DISCONNECTED' });
    await expect(session.waitEvent('STOP', undefined, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'QMP_DISCONNECTED',
    });
  });

  it('an event stream hands out buffered events, then fails with QMP_DISCONNECTED when QEMU goes away', async () => {
    const server = await harness.server();
    server.expect({ ...recordedStop(), fault: { kind: 'drop' } });
    const session = await harness.connect(server);
    const stream = session.events();
    await expect(session.execute('stop')).rejects.toMatchObject({ code: 'QMP_DISCONNECTED' });
    await expect(stream.next()).resolves.toMatchObject({ value: { event: 'STOP' }, done: false });
    await expect(stream.next()).rejects.toMatchObject({ code: 'QMP_DISCONNECTED' });
    server.assertDone();
  });

  it('an event stream ends quietly after close()', async () => {
    const server = await harness.server();
    const session = await harness.connect(server);
    const stream = session.events();
    await session.close();
    await expect(stream.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('an event stream fails with QMP_ABORTED when its signal fires', async () => {
    const server = await harness.server();
    const session = await harness.connect(server);
    const controller = new AbortController();
    const stream = session.events({ signal: controller.signal });
    const next = stream.next();
    controller.abort();
    await expect(next).rejects.toMatchObject({ code: 'QMP_ABORTED' });
  });
});
