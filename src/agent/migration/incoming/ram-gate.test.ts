// The RAM gate against a stand-in for QEMU's unix socket that records every connection it gets:
// what the gate lets through, what it never shows QEMU, and what it cuts. Real sockets, short limits.
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MIGRATION_PORTS } from '../wire/ports.js';
import { helloState, RamGate, type GateOptions } from './ram-gate.js';

const LIMITS = { helloMs: 300, windowMs: 300, tlsAnswerBytes: 64, plainBytes: 32, maxOpen: 3 };
/** What the stand-in QEMU answers to a connection's first bytes, as QEMU's TLS server flight. */
const FLIGHT = Buffer.alloc(100, 9);
/** A TLS record header for a handshake message of `n` bytes, then the bytes. */
const record = (n: number) =>
  Buffer.concat([Buffer.from([0x16, 0x03, 0x01, n >> 8, n & 0xff]), Buffer.alloc(n, 1)]);

let dir: string;
let qemu: net.Server;
let seen: { bytes: Buffer; closed: boolean; sock: net.Socket }[];
let gate: RamGate | undefined;
let notes: string[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-gate-'));
  seen = [];
  notes = [];
  qemu = net.createServer((sock) => {
    const c = { bytes: Buffer.alloc(0), closed: false, sock };
    seen.push(c);
    sock.on('data', (d: Buffer) => {
      if (!c.bytes.length) sock.write(FLIGHT);
      c.bytes = Buffer.concat([c.bytes, d]);
    });
    sock.on('close', () => (c.closed = true));
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => qemu.listen(join(dir, 'incoming.sock'), r));
});

afterEach(async () => {
  gate?.close();
  gate = undefined;
  for (const c of seen) c.sock.destroy();
  await new Promise((r) => qemu.close(r));
  await rm(dir, { recursive: true, force: true });
});

async function open(o: Partial<GateOptions> = {}): Promise<RamGate> {
  gate = await RamGate.open({
    address: '127.0.0.1',
    ports: DEFAULT_MIGRATION_PORTS,
    upstream: join(dir, 'incoming.sock'),
    allowed: ['127.0.0.1'],
    tls: true,
    note: (e) => notes.push(e),
    limits: LIMITS,
    ...o,
  });
  return gate;
}

/**
 * Connects from `from`, writes `data`, then `answer` once the server has sent something (a TLS
 * client's flight after the server's), and says when the connection ended.
 */
function client(port: number, data: Buffer[], from = '127.0.0.1', answer?: Buffer) {
  const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
  const got: Buffer[] = [];
  const t0 = Date.now();
  const ended = new Promise<number>((resolve) => s.on('close', () => resolve(Date.now() - t0)));
  s.on('error', () => undefined);
  s.on('data', (d: Buffer) => {
    if (!got.length && answer) s.write(answer);
    got.push(d);
  });
  s.on('connect', () => data.forEach((d) => s.write(d)));
  return { s, ended, got };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('helloState', () => {
  it('waits for a whole TLS record and refuses what is not a TLS handshake', () => {
    expect(helloState(Buffer.from([0x16, 0x03]), true)).toEqual({ missing: 3 });
    expect(helloState(record(10).subarray(0, 9), true)).toEqual({ missing: 6 });
    expect(helloState(record(10), true)).toEqual({ missing: 0 });
    expect(helloState(Buffer.from('GET / HTTP/1.1'), true)).toHaveProperty('refuse');
    expect(helloState(Buffer.from([0x16, 0x09]), true)).toHaveProperty('refuse');
    expect(helloState(Buffer.from([0x16, 0x03, 0x01, 0, 0]), true)).toHaveProperty('refuse');
    expect(helloState(Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), true)).toHaveProperty('refuse');
    expect(helloState(Buffer.from('QEV'), false)).toEqual({ missing: 1 });
    expect(helloState(Buffer.from('QEVM'), false)).toEqual({ missing: 0 });
  });
});

describe('the RAM gate in front of QEMU', () => {
  it('joins a source that sends a whole hello and answers QEMU, then may stay quiet; both ways', async () => {
    const g = await open();
    const c = client(g.port, [record(40)], '127.0.0.1', Buffer.alloc(200, 7));
    // Quiet for longer than the window after its answer (a multifd migration's main channel is).
    await sleep(LIMITS.windowMs * 2 + 200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.bytes.length).toBe(45 + 200);
    expect(seen[0]!.closed).toBe(false);
    seen[0]!.sock.write('from qemu');
    await sleep(50);
    expect(Buffer.concat(c.got).subarray(FLIGHT.length).toString()).toBe('from qemu');
    expect(seen[0]!.closed).toBe(false);
    // QEMU ends the stream: the source's connection ends with it.
    seen[0]!.sock.end();
    expect(await c.ended).toBeGreaterThan(0);
    expect(notes).toEqual([expect.stringMatching(/admitted a connection from 127\.0\.0\.1/)]);
  });

  it('never shows QEMU a client that connects and sends nothing, and closes it after helloMs', async () => {
    const g = await open();
    const c = client(g.port, []);
    expect(await c.ended).toBeGreaterThanOrEqual(LIMITS.helloMs - 20);
    expect(seen).toHaveLength(0);
    expect(notes.join('\n')).toMatch(/no whole first message within 0\.3 s/);
  });

  it('never shows QEMU half a TLS record, nor bytes that are not TLS', async () => {
    const g = await open();
    const half = client(g.port, [record(100).subarray(0, 50)]);
    const http = client(g.port, [Buffer.from('GET / HTTP/1.1\r\n\r\n')]);
    expect(await http.ended).toBeLessThan(LIMITS.helloMs);
    await half.ended;
    expect(seen).toHaveLength(0);
  });

  it('refuses an address that is not the source’s, once in the journal however often it knocks', async () => {
    const g = await open({ allowed: ['10.1.2.3'] });
    for (let i = 0; i < 3; i++)
      expect(await client(g.port, [record(10)], '127.0.0.2').ended).toBeLessThan(200);
    expect(seen).toHaveLength(0);
    expect(notes).toEqual([
      'RAM listener: refused a connection from 127.0.0.2: not an address of the source (10.1.2.3)',
    ]);
  });

  it('cuts a joined connection that does not answer QEMU’s flight, which ends QEMU’s read too', async () => {
    const g = await open();
    // Bytes sent with the hello, before QEMU answered, do not count: only the answer does.
    const c = client(g.port, [record(10), Buffer.alloc(100)], '127.0.0.1', Buffer.alloc(10));
    const ms = await c.ended;
    expect(ms).toBeGreaterThanOrEqual(LIMITS.windowMs - 20);
    await sleep(20);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.closed).toBe(true);
    expect(notes.join('\n')).toMatch(
      /cut the connection from 127\.0\.0\.1: 10 bytes of its answer to QEMU's TLS flight within 0\.3 s \(a migration source sends at least 64\)/,
    );
  });

  it('judges at most maxOpen connections at once', async () => {
    const g = await open();
    const idle = [0, 1, 2].map(() => client(g.port, []));
    await sleep(50);
    const fourth = client(g.port, [record(10)]);
    expect(await fourth.ended).toBeLessThan(LIMITS.helloMs);
    expect(notes.join('\n')).toMatch(/3 connections are already being judged/);
    await Promise.all(idle.map((c) => c.ended));
  });

  it('leaves joined connections to QEMU on close, and ends them too when the agent stops', async () => {
    const g = await open();
    const c = client(g.port, [record(40)], '127.0.0.1', Buffer.alloc(200, 7));
    await sleep(100);
    g.close();
    await sleep(50);
    expect(seen[0]!.closed).toBe(false);
    g.close({ joined: true });
    expect(await c.ended).toBeGreaterThan(0);
    await sleep(50);
    expect(seen[0]!.closed).toBe(true);
  });

  it('without TLS joins after the 4 bytes of a channel magic, and cuts one that stops short of a first packet', async () => {
    const g = await open({ tls: false });
    const whole = client(g.port, [Buffer.from('QEVM'), Buffer.alloc(100)]);
    const short = client(g.port, [Buffer.from('QEVM'), Buffer.alloc(10)]);
    expect(await short.ended).toBeGreaterThanOrEqual(LIMITS.windowMs - 20);
    expect(seen).toHaveLength(2);
    expect(seen.map((c) => c.bytes.subarray(0, 4).toString())).toEqual(['QEVM', 'QEVM']);
    await sleep(LIMITS.windowMs);
    expect(whole.s.destroyed).toBe(false);
    expect(notes.join('\n')).toMatch(/14 bytes within 0\.3 s \(a migration source sends at least 32\)/);
  });

  it('takes the next port when one is taken, and stops listening when closed', async () => {
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(DEFAULT_MIGRATION_PORTS.first, '127.0.0.1', r));
    try {
      const g = await open();
      expect(g.port).toBeGreaterThan(DEFAULT_MIGRATION_PORTS.first);
      g.close();
      const c = client(g.port, []);
      expect(await c.ended).toBeLessThan(200);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });

  it('listens inside the configured range, not the default one', async () => {
    // Off libvirt's 49152-49215 and vmhop's default, as an administrator beside libvirtd sets it.
    const ports = { first: 47_310, count: 3 };
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(ports.first, '127.0.0.1', r));
    try {
      const g = await open({ ports });
      expect(g.port).toBeGreaterThan(ports.first);
      expect(g.port).toBeLessThan(ports.first + ports.count);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });

  it('refuses naming the range and the fix when every port of it is taken', async () => {
    const ports = { first: 47_320, count: 2 };
    const squatters = [net.createServer(), net.createServer()];
    await Promise.all(
      squatters.map((s, i) => new Promise<void>((r) => s.listen(ports.first + i, '127.0.0.1', r))),
    );
    try {
      await expect(open({ ports })).rejects.toMatchObject({
        code: 'VMHOP_ERR_MIGRATION_FAILED',
        message: expect.stringMatching(/no free port .* on 127\.0\.0\.1 \(47320-47321\).*migrationPorts/),
        details: { address: '127.0.0.1', ports },
      });
    } finally {
      await Promise.all(squatters.map((s) => new Promise((r) => s.close(r))));
    }
  });
});
