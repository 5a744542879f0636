// The fake QEMU (test/fake-qemu/) against sessions recorded from QEMU 10.0.2: each recorded
// command goes to the fake over its real QMP socket, and the events before the reply and the reply
// itself must be what QEMU sent (timestamps aside). Then a migration between two fakes must show
// the recorded order of MIGRATION events and run states on both sides, and a stream cut short
// must fail the target, which exits, as the recorded cancelled migration shows.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../src/agent/poll-until.js';
import {
  loadTranscript,
  recordedEvents,
  recordedGreeting,
  transcriptExchanges,
  type QmpTranscript,
} from '../../src/qmp/testing/transcript.js';
import type { QmpWireEvent } from '../../src/qmp/messages.js';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';

let fake: FakeQemu;
let dir: string;
const children: ChildProcess[] = [];
const clients: net.Socket[] = [];

beforeAll(async () => {
  fake = await buildFakeQemu();
});
afterAll(() => fake.remove());
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The transcript with its recording directory moved to this test's own. */
async function recorded(name: string, recordedDir: string): Promise<QmpTranscript> {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-fake-qemu-test-'));
  return JSON.parse(
    JSON.stringify(loadTranscript(name, '10.0')).replaceAll(recordedDir, dir),
  ) as QmpTranscript;
}

/** The fake started with `argv` (QEMU's options); resolves once its QMP socket `sock` exists. */
async function startFake(argv: string[], sock: string): Promise<ChildProcess> {
  const child = spawn(fake.binary, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  const up = await pollUntil(() => (existsSync(sock) ? true : undefined), {
    intervalMs: 20,
    deadlineMs: 5_000,
  });
  if (!up) throw new Error(`the fake QEMU did not listen on ${sock}`);
  return child;
}

/** The exit status of `child`, also when it already exited. */
const exitOf = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', r));

type Msg = Record<string, unknown>;

/** A raw QMP client: every message the fake sends, in order; `until` waits for one that matches. */
async function rawClient(sock: string) {
  const s = net.connect(sock);
  clients.push(s);
  const seen: Msg[] = [];
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (t: string) => {
    buf += t;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      seen.push(JSON.parse(buf.slice(0, nl)) as Msg);
      buf = buf.slice(nl + 1);
    }
  });
  await new Promise((r) => s.once('connect', r));
  let read = 0;
  const until = async (ok: (m: Msg) => boolean): Promise<Msg[]> => {
    const at = await pollUntil(() => seen.slice(read).findIndex(ok) + 1 || undefined, {
      intervalMs: 5,
      deadlineMs: 5_000,
    });
    if (!at) throw new Error(`no such message from the fake; it sent ${JSON.stringify(seen.slice(read))}`);
    const got = seen.slice(read, read + at);
    read += at;
    return got;
  };
  const send = (m: Msg) => s.write(`${JSON.stringify(m)}\n`);
  return { until, send, seen };
}

const withoutStamp = ({ timestamp: _t, ...rest }: Msg | QmpWireEvent): Msg => rest;

/** Replays the client side of `t` (up to `stopAt` exclusive) and checks what the fake answers. */
async function replay(t: QmpTranscript, sock: string, stopAt?: string) {
  const qmp = await rawClient(sock);
  expect((await qmp.until((m) => 'QMP' in m))[0]).toEqual({ QMP: recordedGreeting(t) });
  for (const x of transcriptExchanges(t)) {
    if (x.command.execute === stopAt) break;
    qmp.send(x.command as unknown as Msg);
    const got = await qmp.until((m) => m['id'] === x.command.id);
    const events = got.slice(0, -1).map(withoutStamp);
    expect(events, `events before the reply to ${x.command.execute}`).toEqual(
      x.eventsBefore.map(withoutStamp),
    );
    expect(withoutStamp(got.at(-1)!), `reply to ${x.command.execute}`).toEqual({
      ...x.reply,
      id: x.command.id,
    });
  }
  return qmp;
}

const QMP_OF = (argv: string[]) => argv[argv.indexOf('-qmp') + 1]!.replace(/^unix:/, '').split(',')[0]!;

describe('the fake QEMU answers as the recorded QEMU 10.0.2', () => {
  it.each(['handshake', 'introspection', 'run-state'])('replays the %s session', async (name) => {
    const t = await recorded(name, '/tmp/vmhop-qmp-record');
    const child = await startFake(t.argv.slice(1), QMP_OF(t.argv));
    await replay(t, QMP_OF(t.argv));
    if (name === 'run-state') expect(await exitOf(child)).toBe(0);
  });

  it('refuses what QEMU refused, with its words (errors session), and fails a migrate nobody listens to', async () => {
    const t = await recorded('errors', '/tmp/vmhop-qmp-record');
    await startFake(t.argv.slice(1), QMP_OF(t.argv));
    const qmp = await replay(t, QMP_OF(t.argv), 'migrate');
    // The connect fails in the background: query-migrate says setup until it did, then failed.
    const [migrate, , last] = transcriptExchanges(t)
      .filter((x) => x.command.execute !== 'qmp_capabilities')
      .slice(-3);
    qmp.send(migrate!.command as unknown as Msg);
    await qmp.until((m) => m['id'] === migrate!.command.id);
    const failed = await pollUntil(
      async () => {
        qmp.send({ execute: 'query-migrate', id: 'q' });
        const r = (await qmp.until((m) => m['id'] === 'q')).at(-1)!;
        return (r['return'] as Msg)['status'] === 'failed' ? r : undefined;
      },
      { intervalMs: 20, deadlineMs: 5_000 },
    );
    expect(failed).toEqual({ ...last!.reply, id: 'q' });
  });

  it("words argument errors as QEMU's input visitor does", async () => {
    const t = await recorded('handshake', '/tmp/vmhop-qmp-record');
    await startFake(t.argv.slice(1), QMP_OF(t.argv));
    const qmp = await rawClient(QMP_OF(t.argv));
    const ask = async (m: Msg) => {
      qmp.send(m);
      return ((await qmp.until((r) => r['id'] === m['id'])).at(-1)!['error'] as Msg)['desc'];
    };
    await qmp.until((m) => 'QMP' in m);
    expect(await ask({ execute: 'query-status', id: 1 })).toBe(
      "Expecting capabilities negotiation with 'qmp_capabilities'",
    );
    qmp.send({ execute: 'qmp_capabilities', id: 2 });
    expect(await ask({ execute: 'migrate-continue', id: 3 })).toBe("Parameter 'state' is missing");
    expect(await ask({ execute: 'stop', arguments: { now: true }, id: 4 })).toBe(
      "Parameter 'now' is unexpected",
    );
    expect(await ask({ execute: 'migrate-set-parameters', arguments: { 'max-bandwidth': 'x' }, id: 5 })).toBe(
      "Invalid parameter type for 'max-bandwidth', expected: integer",
    );
    expect(await ask({ execute: 'migrate-continue', arguments: { state: 'bogus' }, id: 6 })).toBe(
      "Parameter 'state' does not accept value 'bogus'",
    );
  });
});

describe('a migration between two fakes', () => {
  const statuses = (events: Msg[]) =>
    events
      .filter((e) => e['event'] !== 'MIGRATION_PASS')
      .map((e) => `${e['event']}${e['data'] ? ` ${JSON.stringify(e['data'])}` : ''}`);
  const recordedOrder = (name: string) =>
    statuses(recordedEvents(loadTranscript(name, '10.0')) as unknown as Msg[]);

  async function twoFakes() {
    dir = await mkdtemp(join(tmpdir(), 'vmhop-fake-qemu-test-'));
    const common = ['-machine', 'q35', '-accel', 'tcg', '-nodefaults', '-display', 'none', '-m', '64'];
    const qmp = (n: string) => ['-qmp', `unix:${join(dir, n)},server=on,wait=off`];
    const target = await startFake(
      [...common, '-S', '-incoming', 'defer', ...qmp('t.qmp')],
      join(dir, 't.qmp'),
    );
    await startFake([...common, ...qmp('s.qmp')], join(dir, 's.qmp'));
    const [s, t] = [await rawClient(join(dir, 's.qmp')), await rawClient(join(dir, 't.qmp'))];
    let id = 0;
    const run = async (c: typeof s, execute: string, args?: Msg) => {
      const n = ++id;
      c.send({ execute, ...(args ? { arguments: args } : {}), id: n });
      return (await c.until((m) => m['id'] === n)).at(-1)!;
    };
    for (const c of [s, t]) {
      await run(c, 'qmp_capabilities');
      await run(c, 'migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
    }
    return { s, t, run, target, uri: `unix:${join(dir, 'migrate.sock')}` };
  }

  it('shows the recorded order of events and run states on both sides', async () => {
    const { s, t, run, uri } = await twoFakes();
    await run(s, 'migrate-set-capabilities', {
      capabilities: [{ capability: 'pause-before-switchover', state: true }],
    });
    await run(t, 'migrate-incoming', { uri });
    await run(s, 'migrate', { uri });
    await s.until((m) => (m['data'] as Msg | undefined)?.['status'] === 'pre-switchover');
    expect(await run(s, 'query-status')).toMatchObject({
      return: { status: 'finish-migrate', running: false },
    });
    await run(s, 'migrate-continue', { state: 'pre-switchover' });
    await t.until((m) => (m['data'] as Msg | undefined)?.['status'] === 'completed');
    await s.until((m) => (m['data'] as Msg | undefined)?.['status'] === 'completed');
    const done = (await run(s, 'query-migrate'))['return'] as { status: string; ram: Record<string, number> };
    expect(done.status).toBe('completed');
    expect(done.ram['remaining']).toBe(0);
    expect((done.ram['normal']! + done.ram['duplicate']!) * 4096).toBe(done.ram['total']);
    expect(await run(s, 'query-status')).toMatchObject({ return: { status: 'postmigrate' } });
    expect(await run(t, 'query-status')).toMatchObject({ return: { status: 'paused', running: false } });
    await run(t, 'cont');
    await run(s, 'quit');
    await run(t, 'quit');
    const events = (c: typeof s) => c.seen.filter((m) => 'event' in m);
    expect(statuses(events(s))).toEqual(recordedOrder('migration-source'));
    expect(statuses(events(t))).toEqual(recordedOrder('migration-target'));
  });

  it('fails the target, which exits 1, when the source cancels mid-stream; the source runs on', async () => {
    const { s, t, run, uri, target } = await twoFakes();
    await run(s, 'migrate-set-parameters', { 'max-bandwidth': 32768 });
    await run(t, 'migrate-incoming', { uri });
    await run(s, 'migrate', { uri });
    await t.until((m) => (m['data'] as Msg | undefined)?.['status'] === 'active');
    await run(s, 'migrate_cancel');
    await s.until((m) => (m['data'] as Msg | undefined)?.['status'] === 'cancelled');
    expect(await exitOf(target)).toBe(1);
    expect(await run(s, 'query-status')).toMatchObject({ return: { status: 'running', running: true } });
    expect(statuses(t.seen.filter((m) => 'event' in m))).toEqual(recordedOrder('migration-cancel-target'));
  });
});
