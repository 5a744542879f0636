// Commands over a session against the strict fake QMP server: replies and QEMU errors, ids with
// out-of-order replies, per-command timeouts and AbortSignals, the trace hook.

import { afterEach, describe, expect, it } from 'vitest';
import { QmpError } from './errors.js';
import { FakeQmpHarness } from './testing/fake-qmp-harness.js';
import { loadTranscript, recordedReply, transcriptVersions } from './testing/transcript.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

/** QEMU's text for `migrate` with a URI of no known protocol. */
const badUri = {
  '7.2': "Parameter 'uri' expects a valid migration protocol",
  '10.0': 'unknown migration protocol: bogus:x',
} as const;

function returned(reply: unknown): unknown {
  return (reply as { return: unknown }).return;
}

describe.each(transcriptVersions)('QmpSession.execute (replies recorded from QEMU %s)', (version) => {
  const handshake = loadTranscript('handshake', version);
  const errors = loadTranscript('errors', version);

  it('resolves with the value QEMU returned', async () => {
    const server = await harness.server({ version });
    server.expect({ execute: 'query-status', reply: recordedReply(handshake, 'query-status') });
    const session = await harness.connect(server);
    await expect(session.execute('query-status')).resolves.toEqual({
      status: 'prelaunch',
      running: false,
      ...(version === '7.2' ? { singlestep: false } : {}),
    });
    server.assertDone();
  });

  it("rejects a refused command with QEMU's class and text, keeping the command and its arguments", async () => {
    const server = await harness.server({ version });
    const reply = recordedReply(errors, 'migrate', 0, { uri: 'bogus:x' });
    server.expect({ execute: 'migrate', arguments: { uri: 'bogus:x' }, reply });
    const session = await harness.connect(server);
    const error = (await session.execute('migrate', { uri: 'bogus:x' }).catch((e: unknown) => e)) as QmpError;
    expect(error).toBeInstanceOf(QmpError);
    expect(error).toMatchObject({
      code: 'QMP_COMMAND_FAILED',
      command: 'migrate',
      arguments: { uri: 'bogus:x' },
      errorClass: 'GenericError',
      desc: badUri[version],
      message: `QMP migrate failed (GenericError): ${badUri[version]}`,
    });
    server.assertDone();
  });

  it('matches concurrent commands to replies that come back out of order', async () => {
    const server = await harness.server({ version });
    server.expect(
      { execute: 'query-status', reply: recordedReply(handshake, 'query-status'), hold: true },
      { execute: 'query-version', reply: recordedReply(handshake, 'query-version'), hold: true },
      { execute: 'query-migrate', reply: { return: {} }, releaseHeld: true },
    );
    const session = await harness.connect(server);
    const order: string[] = [];
    const track = <T>(name: string, promise: Promise<T>): Promise<T> =>
      promise.then((value) => {
        order.push(name);
        return value;
      });
    const [status, qemuVersion, migration] = await Promise.all([
      track('query-status', session.execute('query-status')),
      track('query-version', session.execute('query-version')),
      track('query-migrate', session.execute('query-migrate')),
    ]);
    expect(order).toEqual(['query-migrate', 'query-status', 'query-version']);
    expect(status).toEqual(returned(recordedReply(handshake, 'query-status')));
    expect(qemuVersion).toEqual(returned(recordedReply(handshake, 'query-version')));
    expect(migration).toEqual({});
    server.assertDone();
  });

  it('times out one command, drops its late reply and keeps the session usable', async () => {
    const server = await harness.server({ version });
    server.expect(
      { execute: 'query-status', reply: recordedReply(handshake, 'query-status'), delayMs: 200 },
      { execute: 'query-version', reply: recordedReply(handshake, 'query-version') },
    );
    const session = await harness.connect(server);
    await expect(session.execute('query-status', undefined, { timeoutMs: 30 })).rejects.toMatchObject({
      code: 'QMP_TIMEOUT',
      command: 'query-status',
      message: 'QMP query-status timed out after 30 ms',
    });
    await expect(session.execute('query-version')).resolves.toEqual(
      returned(recordedReply(handshake, 'query-version')),
    );
    expect(session.isClosed).toBe(false);
    server.assertDone();
  });

  it('applies the session-wide command timeout when the command has none', async () => {
    const server = await harness.server({ version });
    server.expect({ execute: 'query-migrate', fault: { kind: 'no-reply' } });
    const session = await harness.connect(server, { commandTimeoutMs: 30 });
    await expect(session.execute('query-migrate')).rejects.toMatchObject({ code: 'QMP_TIMEOUT' });
    server.assertDone();
  });

  it('rejects a pending command with QMP_ABORTED when its signal fires', async () => {
    const server = await harness.server({ version });
    server.expect({ execute: 'migrate', arguments: { uri: 'unix:/x' }, fault: { kind: 'no-reply' } });
    const session = await harness.connect(server);
    const controller = new AbortController();
    const pending = session.execute('migrate', { uri: 'unix:/x' }, { signal: controller.signal });
    await server.waitForCommand('migrate');
    const reason = new Error('user cancelled the migration');
    controller.abort(reason);
    await expect(pending).rejects.toMatchObject({
      code: 'QMP_ABORTED',
      command: 'migrate',
      arguments: { uri: 'unix:/x' },
      cause: reason,
    });
    server.assertDone();
  });

  it('does not send a command whose signal is already aborted', async () => {
    const server = await harness.server({ version });
    const session = await harness.connect(server);
    const controller = new AbortController();
    controller.abort();
    await expect(session.execute('stop', undefined, { signal: controller.signal })).rejects.toMatchObject({
      code: 'QMP_ABORTED',
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.received.map((command) => command.execute)).toEqual(['qmp_capabilities']);
    server.assertDone();
  });

  it('treats a reply to an id it never issued as a protocol violation and drops the connection', async () => {
    const server = await harness.server({ version });
    server.expect({ execute: 'query-status', fault: { kind: 'unknown-id' } });
    const session = await harness.connect(server);
    const error = (await session.execute('query-status').catch((e: unknown) => e)) as QmpError;
    expect(error).toMatchObject({ code: 'QMP_DISCONNECTED', command: 'query-status' });
    expect(error.cause).toMatchObject({ code: 'QMP_PROTOCOL' });
    await expect(session.closed).resolves.toMatchObject({ code: 'QMP_PROTOCOL' });
    server.assertDone();
  });

  it('shows every line sent and received to the trace hook', async () => {
    const server = await harness.server({ version });
    server.expect({ execute: 'query-status', reply: recordedReply(handshake, 'query-status') });
    const lines: string[] = [];
    const session = await harness.connect(server, {
      trace: (direction, line) => lines.push(`${direction} ${line}`),
    });
    await session.execute('query-status');
    expect(lines).toEqual([
      `in ${JSON.stringify({ QMP: handshake.entries[0]?.message['QMP'] })}`,
      'out {"execute":"qmp_capabilities","id":1}',
      'in {"return":{},"id":1}',
      'out {"execute":"query-status","id":2}',
      `in ${JSON.stringify({ ...recordedReply(handshake, 'query-status'), id: 2 })}`,
    ]);
    server.assertDone();
  });
});
