// Source, offline copies: sends every item the target asked for (status `copy`), one after
// the other, reporting per-item progress with rate and ETA, and keeps the bytes put on the
// wire per item across attempts in the staging folder (`sent.json`), so the report of a
// resumed copy can say how much crossed in total against the data the volume holds.
// The sender (and undici under it) is loaded by the first copy: an idle agent does not need it.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { VmhopError } from '../../../protocol/errors.js';
import type { Progress } from '../../../protocol/migration.js';
import type { OfflinePrepareReply } from '../../peers/offline-messages.js';
import type { ChunkRecord } from '../wire/chunks.js';
import type { PlannedItem } from './plan-offline.js';

export interface CopyFigures {
  manifests: { key: string; chunks: ChunkRecord[] }[];
  /** Per item key: bytes on the wire in this attempt, in all attempts, already there, the data. */
  figures: Record<
    string,
    { wireBytes: number; totalWireBytes: number; skippedBytes: number; dataBytes: number }
  >;
}

export async function copyItems(
  items: PlannedItem[],
  prep: OfflinePrepareReply,
  o: {
    /** This agent's certificate, key and CA: the data link is mutual TLS, so none means no copy. */
    tls: { cert: string; key: string; ca: string } | undefined;
    stagingDir: string;
    signal: AbortSignal;
    onProgress: (p: Partial<Progress>) => void;
  },
): Promise<CopyFigures> {
  const tls = o.tls;
  if (!tls)
    throw new VmhopError('VMHOP_ERR_PEER_AUTH', 'this agent has no TLS material for the data link', {});
  await mkdir(o.stagingDir, { recursive: true, mode: 0o700 });
  const sentFile = `${o.stagingDir}/sent.json`;
  const earlier = JSON.parse(await readFile(sentFile, 'utf8').catch(() => '{}')) as Record<string, number>;
  const { dataDispatcher, sendVolume } = await import('./send-volume.js');
  const dispatcher = dataDispatcher(tls, (p) => readFileSync(p));
  const ep = { address: prep.address, port: prep.port, token: prep.token, tls };
  const toCopy = items.filter((p) => prep.items.find((x) => x.key === p.item.key)?.status === 'copy');
  const done = new Map<string, number>(toCopy.map((p) => [p.item.key, 0]));
  const total = toCopy.reduce((s, p) => s + p.item.dataBytes, 0);
  const t0 = Date.now();
  let wireAll = 0;
  const out: CopyFigures = { manifests: [], figures: {} };
  const publish = () => {
    const doneAll = [...done.values()].reduce((s, v) => s + v, 0);
    const rate = wireAll / Math.max(0.001, (Date.now() - t0) / 1000);
    o.onProgress({
      phase: 'perform',
      stage: 'disks',
      rateBps: rate,
      etaS: rate > 0 ? Math.round((total - doneAll) / rate) : null,
      etaReason: rate > 0 ? 'remaining data at the rate of this copy so far' : 'no rate measured yet',
      disks: toCopy.map((p) => ({
        target: p.item.key,
        doneBytes: done.get(p.item.key) ?? 0,
        totalBytes: p.item.dataBytes,
      })),
    });
  };
  try {
    for (const p of toCopy) {
      const have = prep.items.find((x) => x.key === p.item.key)?.have ?? [];
      let last = 0;
      const save = () => writeFile(sentFile, JSON.stringify(earlier));
      try {
        const r = await sendVolume(ep, dispatcher, p.item.key, p.path, have, {
          signal: o.signal,
          onChunk: (wire, doneBytes) => {
            wireAll += wire - last;
            earlier[p.item.key] = (earlier[p.item.key] ?? 0) + (wire - last);
            last = wire;
            done.set(p.item.key, doneBytes);
            publish();
          },
        });
        out.manifests.push({ key: p.item.key, chunks: r.manifest });
        out.figures[p.item.key] = {
          wireBytes: r.wireBytes,
          totalWireBytes: earlier[p.item.key] ?? r.wireBytes,
          skippedBytes: r.skippedBytes,
          dataBytes: p.item.dataBytes,
        };
      } finally {
        await save();
      }
    }
  } finally {
    await dispatcher.destroy().catch(() => undefined); // close() would wait on a socket stuck on a cut link
  }
  return out;
}
