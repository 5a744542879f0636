// A drain move's wait for fleet-wide slots (drain-slots.ts) with two agents' cluster modes joined
// to a real etcd: the second drain into a full target waits, journaled once with the holder's
// name, and goes when the first move's slots come back; a host cut off from etcd starts nothing.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DrainVm } from '../../protocol/drain.js';
import type { MemberRecord } from '../cluster/etcd-cluster.js';
import { etcdForFile } from '../cluster/testing/etcd-for-file.js';
import { pollUntil } from '../poll-until.js';
import { ClusterMode } from './cluster-mode.js';
import { DrainSlots } from './drain-slots.js';

const file = etcdForFile();
const log = pino({ level: 'silent' });
const limits = { maxPerHost: 1, maxPerLink: 4 };

function member(name: string): MemberRecord {
  return {
    name,
    url: `https://${name}.test:8443`,
    migrationAddress: `${name}.test`,
    agentVersion: '0.1.0',
    protocolVersions: { min: 1, max: 3 },
    maintenance: false,
  };
}

async function drainer(name: string, prefix: string) {
  const cluster = new ClusterMode(
    { endpoints: [file.etcd.endpoint], leaseTtlSeconds: 5, prefix },
    () => member(name),
    log,
    () => [],
  );
  file.opened.push(cluster);
  cluster.start();
  expect(await cluster.joined(5_000)).toBe(true);
  const journal: string[] = [];
  const slots = new DrainSlots({ cluster, host: name, journal: (_, e) => journal.push(e), log });
  return { cluster, slots, journal };
}

const queued = (vm: string, to: string): DrainVm => ({
  order: 1,
  vm,
  to,
  mode: 'live-shared',
  priority: 0,
  state: 'queued',
});

describe('drain moves and fleet-wide slots', () => {
  it('lets every move go at once in embedded mode', async () => {
    const journal: string[] = [];
    const slots = new DrainSlots({ cluster: undefined, host: 'a', journal: (_, e) => journal.push(e), log });
    expect(await slots.take('d1', queued('v1', 't'), limits)).toBe(true);
    expect(await slots.take('d1', queued('v2', 't'), limits)).toBe(true);
    expect(journal).toEqual([]);
  });

  it('keeps a second drain into a full target waiting, journaled once, until the first move ends', async () => {
    const prefix = `/vmhop-test-${randomUUID().slice(0, 8)}/`;
    const a = await drainer('a', prefix);
    const b = await drainer('b', prefix);
    expect(await a.slots.take('da', queued('v1', 't'), limits)).toBe(true);
    expect(await b.slots.take('db', queued('w1', 't'), limits)).toBe(false);
    expect(await b.slots.take('db', queued('w1', 't'), limits)).toBe(false);
    expect(b.journal).toEqual([
      'w1: waits for a slot: all 1 slots for moves into host `t` are taken (v1 of the drain of `a`)',
    ]);
    await a.slots.release('da', 'v1');
    const went = await pollUntil(
      async () => ((await b.slots.take('db', queued('w1', 't'), limits)) ? true : undefined),
      { intervalMs: 20, deadlineMs: 5_000 },
    );
    expect(went).toBe(true);
    expect(b.journal.at(-1)).toBe('w1: slots taken after waiting');
    const held = await file.raw.getAll().prefix(`${prefix}slots/host/t/`).strings();
    expect(Object.values(held).map((v) => JSON.parse(v).vm)).toEqual(['w1']);
  });

  it('takes the slots of a move left running by a previous process again, or says it runs without', async () => {
    const prefix = `/vmhop-test-${randomUUID().slice(0, 8)}/`;
    const a = await drainer('a', prefix);
    const b = await drainer('b', prefix);
    await a.slots.adopt('da', { ...queued('v1', 't'), state: 'moving', job: 'j1' }, limits);
    await b.slots.adopt('db', { ...queued('w1', 't'), state: 'moving', job: 'j2' }, limits);
    expect(a.journal).toEqual([]);
    expect(b.journal).toEqual([
      'w1: runs on without fleet-wide slots: all 1 slots for moves into host `t` are taken (v1 of the drain of `a`)',
    ]);
  });

  it('starts no move while the host is cut off from etcd, and says so', async () => {
    const prefix = `/vmhop-test-${randomUUID().slice(0, 8)}/`;
    const a = await drainer('a', prefix);
    file.etcd.pause();
    // Cut off once no keep-alive was answered for TTL - 3 s (2 s here).
    await pollUntil(() => (a.cluster.inTouch() ? undefined : true), { intervalMs: 100, deadlineMs: 6_000 });
    expect(await a.slots.take('da', queued('v1', 't'), limits)).toBe(false);
    expect(a.journal[0]).toMatch(/^v1: waits for a slot: host `a` is cut off from etcd/);
    file.etcd.resume();
  });

  it('publishes the newest drain report under drains/<host>', async () => {
    const prefix = `/vmhop-test-${randomUUID().slice(0, 8)}/`;
    const a = await drainer('a', prefix);
    a.slots.publish(() => ({ id: 'da', state: 'running' }));
    a.slots.publish(() => ({ id: 'da', state: 'running', moved: 1 }));
    a.slots.publish(() => ({ id: 'da', state: 'completed' }));
    await a.slots.published();
    expect(JSON.parse((await file.raw.get(`${prefix}drains/a`).string()) ?? '{}')).toEqual({
      id: 'da',
      state: 'completed',
    });
  });
});
