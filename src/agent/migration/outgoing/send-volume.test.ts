// The offline data plane over a real mutual-TLS socket on loopback: a sparse file crosses as
// its data only, several chunks at once and one sync at the end; a chunk acknowledged but not
// yet synced is not logged (a resume sends it again); a resumed copy skips the chunks the
// receiver logged, and verification catches a chunk that changed on the target's disk.
import { mkdtemp, open, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { createHash } from 'node:crypto';
import { request } from 'undici';
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

  it('reuses its chunk buffers without mixing chunks: 12 chunks, each of its own bytes, arrive intact', async () => {
    // More chunks than buffers (window + 1), each filled with its own byte: a buffer handed
    // back before the target had read it, or read past its chunk, shows as a digest mismatch.
    const big = join(dir, 'big.img');
    const fh = await open(big, 'w');
    for (let i = 0; i < 12; i++) await fh.write(Buffer.alloc(4 * MIB, i + 1), 0, 4 * MIB, i * 4 * MIB);
    await fh.write(Buffer.alloc(MIB / 2, 0xee), 0, MIB / 2, 48 * MIB); // a short last chunk
    await fh.close();
    const partial = join(dir, 'p5');
    await writeFile(partial, '');
    await truncate(partial, 64 * MIB);
    const rx = new VolumeReceiver(tls, 'host-x', () => undefined);
    rx.accept('big', partial, 64 * MIB);
    const port = await rx.listen('127.0.0.1');
    const d = dataDispatcher(tls, (p) => readFileSync(p));
    try {
      const r = await sendVolume({ address: '127.0.0.1', port, token: rx.token, tls }, d, 'big', big, [], {
        signal: AbortSignal.timeout(30_000),
        onChunk: () => undefined,
      });
      expect(r.manifest).toHaveLength(13);
      expect(new Set(r.manifest.map((c) => c.sha256)).size).toBe(13);
      await verifyPartial(partial, r.manifest); // every chunk read back from the file
      // This listener hashed every chunk as it arrived: the verification of its own job skips
      // reading them back, so a byte changed on disk afterwards is not seen there (the page
      // cache would have served the read anyway); an earlier listener's chunks are read back.
      const hashed = rx.hashedOnArrival().get('big')!;
      expect(hashed.size).toBe(13);
      const w = await open(partial, 'r+');
      await w.write(Buffer.from([0]), 0, 1, 5 * MIB);
      await w.close();
      await verifyPartial(partial, r.manifest, hashed);
      await expect(verifyPartial(partial, r.manifest)).rejects.toThrow(
        /the chunk at 4194304 .* reads back as/,
      );
    } finally {
      await d.destroy();
      await rx.close();
    }
  });

  it('keeps several chunks in flight and asks for one sync, after the last chunk', async () => {
    const seen: string[] = [];
    let open = 0;
    let most = 0;
    const server = createServer(
      {
        cert: readFileSync(tls.cert),
        key: readFileSync(tls.key),
        ca: readFileSync(tls.ca),
        requestCert: true,
      },
      (req, res) => {
        open++;
        most = Math.max(most, open);
        req.resume();
        req.on('end', () =>
          setTimeout(() => {
            seen.push(`${req.method} ${new URL(req.url ?? '/', 'https://x').pathname}`);
            open--;
            res.writeHead(204).end();
          }, 100),
        );
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const d = dataDispatcher(tls, (p) => readFileSync(p));
    try {
      const r = await sendVolume(
        { address: '127.0.0.1', port, token: 't', tls },
        d,
        'k',
        join(dir, 'source.img'),
        [],
        {
          signal: AbortSignal.timeout(20_000),
          onChunk: () => undefined,
        },
      );
      expect(r.manifest).toHaveLength(3);
      expect(most).toBe(3);
      expect(seen).toEqual(['PUT /chunk', 'PUT /chunk', 'PUT /chunk', 'POST /sync']);
    } finally {
      await d.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('logs a chunk only once a sync covers it, so a resume after a crash sends it again', async () => {
    const partial = join(dir, 'p3');
    const { rx, ep } = await receiverFor(partial);
    const d = dataDispatcher(tls, (p) => readFileSync(p));
    const body = Buffer.alloc(MIB, 0x5a);
    const call = (path: string, init: { method: 'PUT' | 'POST'; body?: Buffer }) =>
      request(`https://127.0.0.1:${ep.port}${path}`, {
        ...init,
        dispatcher: d,
        headers: {
          'x-vmhop-token': ep.token,
          'x-vmhop-sha256': createHash('sha256').update(body).digest('hex'),
        },
      });
    try {
      const put = await call('/chunk?key=k&offset=0', { method: 'PUT', body });
      await put.body.text();
      expect(put.statusCode).toBe(204);
      expect(await readChunkLog(partial)).toEqual([]);
      const sync = await call('/sync?key=k', { method: 'POST' });
      await sync.body.text();
      expect(sync.statusCode).toBe(204);
      expect(await readChunkLog(partial)).toEqual([
        { offset: 0, length: MIB, sha256: createHash('sha256').update(body).digest('hex') },
      ]);
    } finally {
      await d.destroy();
      await rx.close();
    }
  });

  it('syncs and logs written chunks once none arrives for a while, so a cut link costs only the chunks in flight', async () => {
    const partial = join(dir, 'p4');
    const { rx, ep } = await receiverFor(partial);
    const d = dataDispatcher(tls, (p) => readFileSync(p));
    const body = Buffer.alloc(MIB, 0x6b);
    const sha256 = createHash('sha256').update(body).digest('hex');
    try {
      const put = await request(`https://127.0.0.1:${ep.port}/chunk?key=k&offset=${MIB}`, {
        method: 'PUT',
        body,
        dispatcher: d,
        headers: { 'x-vmhop-token': ep.token, 'x-vmhop-sha256': sha256 },
      });
      await put.body.text();
      expect(put.statusCode).toBe(204);
      const until = Date.now() + 5_000;
      while ((await readChunkLog(partial)).length === 0 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      expect(await readChunkLog(partial)).toEqual([{ offset: MIB, length: MIB, sha256 }]);
    } finally {
      await d.destroy();
      await rx.close();
    }
  });
});
