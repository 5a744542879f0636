// A hostile QMP monitor must cost only its own connection: messages nested a million deep
// (JSON.parse takes them, JSON.stringify overflows the stack), and a flood of events into a
// stream nobody reads. A raw unix-socket server, not the strict fake: it sends what QEMU never would.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultMaxQueuedEvents } from './event-stream.js';
import { QmpSession } from './session.js';

const greeting = {
  QMP: { version: { qemu: { major: 10, minor: 0, micro: 2 }, package: '' }, capabilities: ['oob'] },
};
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

let dir: string;
let server: Server;
let peer: Promise<Socket>;
const sessions: QmpSession[] = [];

/** Listens; `onConnect` plays the monitor. The client socket is `peer`. */
async function monitor(onConnect: (s: Socket) => void): Promise<string> {
  const path = join(dir, 'qmp.sock');
  let connected: (s: Socket) => void = () => {};
  peer = new Promise((r) => (connected = r));
  server = createServer((s) => {
    s.on('error', () => {});
    connected(s);
    onConnect(s);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return path;
}

/** Greets, answers qmp_capabilities, and leaves the rest to the test. */
function handshaking(s: Socket) {
  s.write(`${JSON.stringify(greeting)}\n`);
  s.once('data', (d) => {
    const { id } = JSON.parse(d.toString().split('\n')[0]!) as { id: unknown };
    s.write(`${JSON.stringify({ return: {}, id })}\n`);
  });
}

async function connect(path: string) {
  const session = await QmpSession.connect(path, { timeoutMs: 5_000, maxAttempts: 1 });
  sessions.push(session);
  return session;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-qmp-hostile-'));
});
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
  await new Promise<void>((r) => server.close(() => r()));
  // Nothing but the socket was made, and only in this test's folder.
  expect((await readdir(dir)).filter((f) => f !== 'qmp.sock')).toEqual([]);
  await rm(dir, { recursive: true, force: true });
});

describe('QMP client against a hostile monitor', () => {
  it('refuses a greeting nested a million deep with a bounded QMP_PROTOCOL error', async () => {
    const path = await monitor((s) => s.write(`${deep(1_000_000)}\n`));
    const failure = await QmpSession.connect(path, { timeoutMs: 5_000, maxAttempts: 1 }).then(
      () => undefined,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(failure?.message).toMatch(/expected a QMP greeting, got \[\[\[/);
    expect(failure?.message.length).toBeLessThan(600);
  });

  it('refuses a greeting object whose body is nested a million deep', async () => {
    const path = await monitor((s) => s.write(`{"QMP": ${deep(1_000_000)}}\n`));
    await expect(QmpSession.connect(path, { timeoutMs: 5_000, maxAttempts: 1 })).rejects.toThrow(
      /expected a QMP greeting/,
    );
  });

  it('drops only the connection on a reply whose unknown id is nested a million deep', async () => {
    const path = await monitor(handshaking);
    const session = await connect(path);
    (await peer).write(`{"return": {}, "id": ${deep(1_000_000)}}\n`);
    const reason = await session.closed;
    expect(reason?.code).toBe('QMP_PROTOCOL');
    expect(reason?.message).toMatch(/unknown command id: \{"return": \{\}, "id": \[\[\[/);
    expect(reason?.message.length).toBeLessThan(600);
  });

  it('ends an unread event stream with QMP_EVENTS_OVERFLOW instead of buffering without bound', async () => {
    const path = await monitor(handshaking);
    const session = await connect(path);
    const unread = session.events();
    const watched = session.events(['STOP']);
    const event = `{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 2}}\n`;
    const sock = await peer;
    sock.write(event.repeat(defaultMaxQueuedEvents + 500));
    sock.write(`{"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 3}}\n`);
    // The filtered stream still sees its event: the flood ended only the stream that overflowed.
    expect((await watched.next()).value).toMatchObject({ event: 'STOP' });
    await expect(unread.next()).rejects.toMatchObject({ code: 'QMP_EVENTS_OVERFLOW' });
    expect(session.isClosed).toBe(false);
  });
});
