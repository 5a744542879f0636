// The offline data plane over a real mutual-TLS socket on loopback: a sparse file crosses as
// its data only, a resumed copy skips the chunks the receiver logged, and verification
// catches a chunk that changed on the target's disk after it arrived.
import { mkdtemp, open, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa, issueHostCert } from '../../../credentials/ca.js';
import { readChunkLog, VolumeReceiver } from '../incoming/volume-receiver.js';
import { verifyPartial } from '../incoming/verify-partial.js';
import { dataDispatcher, sendVolume } from './send-volume.js';

const MIB = 1024 * 1024;
let dir: string;
let tls: { cert: string; key: string; ca: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-send-'));
  await initCa(join(dir, 'ca'));
  const c = await issueHostCert(join(dir, 'ca'), join(dir, 'tls'), 'host-x', { ips: ['127.0.0.1'] });
  tls = { cert: c.cert, key: c.key, ca: c.ca };
  const source = join(dir, 'source.img');
  await writeFile(source, '');
  await truncate(source, 64 * MIB);
  const fh = await open(source, 'r+');
  await fh.write(Buffer.alloc(6 * MIB, 0xab), 0, 6 * MIB, 0);
  await fh.write(Buffer.alloc(1 * MIB, 0xcd), 0, 1 * MIB, 40 * MIB);
  await fh.close();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function receiverFor(partial: string) {
  await writeFile(partial, '');
  await truncate(partial, 64 * MIB);
  const rx = new VolumeReceiver(tls, 'host-x', () => undefined);
  rx.accept('k', partial, 64 * MIB);
  const port = await rx.listen('127.0.0.1');
  return { rx, ep: { address: '127.0.0.1', port, token: rx.token, tls } };
}

describe('sendVolume to a VolumeReceiver', () => {
  it('sends only the data extents of a sparse file, and the copy verifies', async () => {
    const partial = join(dir, 'p1');
    const { rx, ep } = await receiverFor(partial);
    const d = dataDispatcher(tls, (p) => readFileSync(p));
    try {
      const r = await sendVolume(ep, d, 'k', join(dir, 'source.img'), [], {
        signal: AbortSignal.timeout(20_000),
        onChunk: () => undefined,
      });
      expect(r.wireBytes).toBe(7 * MIB);
      await verifyPartial(partial, r.manifest);
      expect((await stat(partial)).size).toBe(64 * MIB);
    } finally {
      await d.destroy();
      await rx.close();
    }
  });

  it('skips what the target already holds when resumed, and refuses a chunk changed on disk', async () => {
    const partial = join(dir, 'p2');
    const { rx, ep } = await receiverFor(partial);
    const d = dataDispatcher(tls, (p) => readFileSync(p));
    try {
      const first = await sendVolume(ep, d, 'k', join(dir, 'source.img'), [], {
        signal: AbortSignal.timeout(20_000),
        onChunk: () => undefined,
      });
      const have = (await readChunkLog(partial)).filter((c) => c.offset === 0);
      const again = await sendVolume(ep, d, 'k', join(dir, 'source.img'), have, {
        signal: AbortSignal.timeout(20_000),
        onChunk: () => undefined,
      });
      expect(again.skippedBytes).toBe(4 * MIB);
      expect(again.wireBytes).toBe(3 * MIB);
      const fh = await open(partial, 'r+');
      await fh.write(Buffer.from([0]), 0, 1, 40 * MIB + 17);
      await fh.close();
      await expect(verifyPartial(partial, first.manifest)).rejects.toThrow(/reads back as/);
    } finally {
      await d.destroy();
      await rx.close();
    }
  });
});
