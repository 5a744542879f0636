// Connecting to a QMP monitor: greeting and capabilities negotiation, retry while QEMU creates
// its socket (bounded by attempts and time), monitors that never greet or are not QMP at all.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QmpSession } from './session.js';
import { FakeQmpHarness } from './testing/fake-qmp-harness.js';
import { FakeQmpServer } from './testing/fake-qmp-server.js';
import { loadTranscript, recordedGreeting } from './testing/transcript.js';

const harness = new FakeQmpHarness();
let dir: string;
const rawServers: Server[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-qmp-connect-'));
});

afterEach(async () => {
  await harness.cleanup();
  await Promise.all(rawServers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  await rm(dir, { recursive: true, force: true });
});

function rawServer(path: string, firstLine: string): Promise<void> {
  const server = createServer((socket) => socket.write(firstLine));
  rawServers.push(server);
  return new Promise((resolve) => server.listen(path, resolve));
}

describe('QmpSession.connect', () => {
  it.each([
    ['7.2', { major: 7, minor: 2, micro: 22 }],
    ['10.0', { major: 10, minor: 0, micro: 2 }],
  ] as const)(
    'negotiates capabilities and exposes the version from the greeting of QEMU %s',
    async (version, qemu) => {
      const server = await harness.server({ version });
      const session = await harness.connect(server);
      expect(session.greeting).toEqual(recordedGreeting(loadTranscript('handshake', version)));
      expect(session.greeting.version.qemu).toEqual(qemu);
      expect(server.received.map((command) => command.execute)).toEqual(['qmp_capabilities']);
      server.assertDone();
    },
  );

  it('negotiates out-of-band execution only when asked and offered, and sends exec-oob then', async () => {
    const server = await harness.server();
    server.expect({ execute: 'migrate-pause', reply: { return: {} } });
    server.expect({ execute: 'query-status', reply: { return: { status: 'running', running: true } } });
    const session = await QmpSession.connect(server.socketPath, { oob: true });
    try {
      expect(session.oob).toBe(true);
      await session.execute('migrate-pause', undefined, { oob: true });
      await session.execute('query-status');
      expect(server.received).toEqual([
        { execute: 'qmp_capabilities', arguments: { enable: ['oob'] }, id: 1 },
        { 'exec-oob': 'migrate-pause', id: 2 },
        { execute: 'query-status', id: 3 },
      ]);
      server.assertDone();
    } finally {
      await session.close();
    }
  });

  it('sends in band when the monitor offers no OOB', async () => {
    const greeting = { ...recordedGreeting(loadTranscript('handshake', '10.0')), capabilities: [] };
    const server = await harness.server({ greeting });
    server.expect({ execute: 'migrate-pause', reply: { return: {} } });
    const session = await QmpSession.connect(server.socketPath, { oob: true });
    try {
      expect(session.oob).toBe(false);
      await session.execute('migrate-pause', undefined, { oob: true });
      expect(server.received.map((c) => c.execute)).toEqual(['qmp_capabilities', 'migrate-pause']);
      expect(server.received[0]).not.toHaveProperty('arguments');
    } finally {
      await session.close();
    }
  });

  it('retries until QEMU creates the socket', async () => {
    const path = join(dir, 'late.qmp');
    const connecting = QmpSession.connect(path, { timeoutMs: 5000, retryIntervalMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const server = await FakeQmpServer.start({ socketPath: path });
    try {
      const session = await connecting;
      expect(session.greeting.version.qemu.major).toBe(10); // the default greeting: the newest QEMU recorded
      await session.close();
    } finally {
      await server.close();
    }
  });

  it('gives up after the bounded number of attempts, naming the socket', async () => {
    const path = join(dir, 'never.qmp');
    await expect(QmpSession.connect(path, { maxAttempts: 3, retryIntervalMs: 5 })).rejects.toMatchObject({
      code: 'QMP_CONNECT_FAILED',
      message: expect.stringMatching(new RegExp(`${path} after 3 attempts: .*ENOENT`)) as unknown,
    });
  });

  it('gives up at the deadline', async () => {
    const started = Date.now();
    const connecting = QmpSession.connect(join(dir, 'never.qmp'), { timeoutMs: 200, retryIntervalMs: 20 });
    await expect(connecting).rejects.toMatchObject({ code: 'QMP_CONNECT_FAILED' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops retrying when aborted', async () => {
    const controller = new AbortController();
    const connecting = QmpSession.connect(join(dir, 'never.qmp'), {
      signal: controller.signal,
      timeoutMs: 10_000,
    });
    setTimeout(() => controller.abort(new Error('operator cancelled')), 50);
    await expect(connecting).rejects.toMatchObject({ code: 'QMP_ABORTED' });
  });

  it('fails when the monitor never greets (another client holds it)', async () => {
    const server = await harness.server({ greeting: null });
    await expect(QmpSession.connect(server.socketPath, { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'QMP_CONNECT_FAILED',
      message: expect.stringContaining('no QMP greeting') as unknown,
    });
  });

  it('rejects a socket that does not speak QMP', async () => {
    const path = join(dir, 'agent.sock');
    await rawServer(path, '{"return": {}}\n');
    await expect(QmpSession.connect(path, { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'QMP_PROTOCOL',
    });
  });

  it('rejects a peer whose first line is not JSON', async () => {
    const path = join(dir, 'ssh.sock');
    await rawServer(path, 'SSH-2.0-OpenSSH_9.2\r\n');
    await expect(QmpSession.connect(path, { timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'QMP_PROTOCOL',
    });
  });

  it('fails when QEMU refuses the capabilities negotiation', async () => {
    const server = await harness.server({ negotiation: 'manual' });
    server.expect({ execute: 'qmp_capabilities', reply: { error: { class: 'GenericError', desc: 'no' } } });
    const error: unknown = await QmpSession.connect(server.socketPath, { timeoutMs: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      code: 'QMP_CONNECT_FAILED',
      cause: { code: 'QMP_COMMAND_FAILED', desc: 'no' },
    });
    server.assertDone();
  });
});
