// Framing as the session sees it on a real socket: replies split over reads, several messages in
// one read, UTF-8 split mid-character, the line cap and garbage dropping the connection.

import { afterEach, describe, expect, it } from 'vitest';
import { FakeQmpHarness } from './testing/fake-qmp-harness.js';
import type { FakeQmpServer } from './testing/fake-qmp-server.js';
import { loadTranscript, recordedEvents, transcriptVersions } from './testing/transcript.js';

const harness = new FakeQmpHarness();
afterEach(() => harness.cleanup());

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 15));

/** Sends `bytes` in pieces, each in its own socket write separated in time so reads do not merge. */
async function sendInPieces(server: FakeQmpServer, bytes: Buffer, cuts: number[]): Promise<void> {
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    server.sendRaw(bytes.subarray(start, cut));
    start = cut;
    await tick();
  }
}

async function pendingQueryStatus(): Promise<{
  server: FakeQmpServer;
  reply: Promise<unknown>;
  id: unknown;
}> {
  const server = await harness.server();
  server.expect({ execute: 'query-status', fault: { kind: 'no-reply' } });
  const session = await harness.connect(server);
  const reply = session.execute('query-status');
  // The reply may settle while the test is still sending pieces; it is awaited afterwards.
  reply.catch(() => {});
  const { id } = await server.waitForCommand('query-status');
  return { server, reply, id };
}

describe.each(transcriptVersions)('QMP framing (events recorded from QEMU %s)', (version) => {
  it('assembles a reply that arrives split over several reads', async () => {
    const { server, reply, id } = await pendingQueryStatus();
    const line = Buffer.from(`${JSON.stringify({ return: { status: 'running', running: true }, id })}\n`);
    await sendInPieces(server, line, [1, 9, 20]);
    await expect(reply).resolves.toEqual({ status: 'running', running: true });
    server.assertDone();
  });

  it('handles several messages in one read: events and the reply', async () => {
    const server = await harness.server();
    server.expect({ execute: 'cont', fault: { kind: 'no-reply' } });
    const session = await harness.connect(server);
    const events = session.events();
    const reply = session.execute('cont');
    const { id } = await server.waitForCommand('cont');
    const [resume] = recordedEvents(loadTranscript('run-state', version), 'RESUME');
    const stop = recordedEvents(loadTranscript('run-state', version), 'STOP')[0];
    server.sendRaw(
      `${JSON.stringify(resume)}\n${JSON.stringify({ return: {}, id })}\n${JSON.stringify(stop)}\n`,
    );
    await expect(reply).resolves.toEqual({});
    expect((await events.next()).value).toEqual(resume);
    expect((await events.next()).value).toEqual(stop);
    server.assertDone();
  });

  it('decodes a multi-byte UTF-8 character split between two reads', async () => {
    const { server, reply, id } = await pendingQueryStatus();
    const desc = "Impossible d'ouvrir « disque-été.qcow2 » 日本";
    const line = Buffer.from(`${JSON.stringify({ error: { class: 'GenericError', desc }, id })}\n`, 'utf8');
    const insideCharacter = line.indexOf(Buffer.from('日')) + 1;
    await sendInPieces(server, line, [line.indexOf(Buffer.from('é')) + 1, insideCharacter]);
    await expect(reply).rejects.toMatchObject({ code: 'QMP_COMMAND_FAILED', desc });
    server.assertDone();
  });

  it('drops the connection when a line passes the size cap instead of buffering it', async () => {
    const server = await harness.server();
    server.expect({
      execute: 'query-named-block-nodes',
      fault: { kind: 'over-long-line', bytes: 64 * 1024 },
    });
    const session = await harness.connect(server, { maxLineBytes: 4096 });
    const error: unknown = await session.execute('query-named-block-nodes').catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'QMP_DISCONNECTED',
      command: 'query-named-block-nodes',
      cause: { code: 'QMP_LINE_TOO_LONG' },
    });
    await expect(session.closed).resolves.toMatchObject({ code: 'QMP_LINE_TOO_LONG' });
    server.assertDone();
  });

  it('drops the connection when QEMU sends a line that is not JSON', async () => {
    const server = await harness.server();
    server.expect({ execute: 'query-block', fault: { kind: 'garbage', text: '{"return": [' } });
    const session = await harness.connect(server);
    await expect(session.execute('query-block')).rejects.toMatchObject({
      code: 'QMP_DISCONNECTED',
      cause: { code: 'QMP_PROTOCOL' },
    });
    await expect(session.closed).resolves.toMatchObject({ code: 'QMP_PROTOCOL' });
    server.assertDone();
  });
});
