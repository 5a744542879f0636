// The link probe over loopback: a sink takes one bounded stream and answers with what it received;
// a stream from an address it does not admit gets nothing but a closed socket.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { openLinkSink, sendLinkProbe } from './link-probe.js';

const MiB = 1024 * 1024;
const ports = { first: 41_000 + Math.floor(Math.random() * 2_000), count: 50 };
const base = { address: '127.0.0.1', ports, maxBytes: 4 * MiB, maxMs: 500 };

/** True when nothing listens on the port any more. */
const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });

describe('link probe', () => {
  // First: the refused stream below leaves its sink open until its deadline.
  it('refuses a third sink while two are open', async () => {
    const a = await openLinkSink({ ...base, allowed: ['127.0.0.1'] });
    const b = await openLinkSink({ ...base, allowed: ['127.0.0.1'] });
    await expect(openLinkSink({ ...base, allowed: ['127.0.0.1'] })).rejects.toThrow(/already running/);
    await sendLinkProbe(a, { maxBytes: MiB, maxMs: 100 });
    await sendLinkProbe(b, { maxBytes: MiB, maxMs: 100 });
    const c = await openLinkSink({ ...base, allowed: ['127.0.0.1'] });
    await sendLinkProbe(c, { maxBytes: MiB, maxMs: 100 });
  });
  it('measures a bounded stream from an admitted address, then stops listening', async () => {
    const sink = await openLinkSink({ ...base, allowed: ['127.0.0.1'] });
    expect(sink.address).toBe('127.0.0.1');
    expect(sink.port).toBeGreaterThanOrEqual(ports.first);
    const r = await sendLinkProbe(sink, { maxBytes: 4 * MiB, maxMs: 500 });
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.bytes).toBeLessThanOrEqual(4 * MiB);
    expect(r.bps).toBeGreaterThan(0);
    expect(await refused(sink.port)).toBe(true);
  });

  it('waits out back-pressure without piling close listeners on its socket', async () => {
    // A sink that reads slowly, as over a slow link: the sender waits for 'drain' again and again,
    // and a listener left behind per wait was node's "11 close listeners added to [Socket]" warning.
    let bytes = 0;
    const slow = net.createServer((s) => {
      s.on('data', (d: Buffer) => {
        bytes += d.length;
        s.pause();
        setTimeout(() => s.resume(), 1);
      });
      s.on('end', () => s.end(`${JSON.stringify({ bytes, ms: 100 })}\n`));
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const { port } = slow.address() as net.AddressInfo;
      const r = await sendLinkProbe({ address: '127.0.0.1', port }, { maxBytes: 32 * MiB, maxMs: 1_000 });
      expect(r.bytes).toBe(bytes);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      slow.close();
    }
  });

  it('closes a stream from an address it does not admit, without figures', async () => {
    const sink = await openLinkSink({ ...base, allowed: ['10.98.0.11'] });
    await expect(sendLinkProbe(sink, { maxBytes: MiB, maxMs: 200 })).rejects.toThrow(
      /closed without its figures|ECONNRESET|EPIPE/,
    );
  });
});
