// The drain budgets' slots (slots.ts) against a real etcd, one process for the file and a fresh
// key prefix per case; two EtcdCluster instances are two drained hosts moving VMs into one target.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EtcdCluster, type SlotPool } from './etcd-cluster.js';
import { etcdForFile, testMember } from './testing/etcd-for-file.js';

const file = etcdForFile();

const member = testMember;

async function joinHosts(...names: string[]) {
  const prefix = `/vmhop-test-${randomUUID().slice(0, 8)}/`;
  const hosts: EtcdCluster[] = [];
  for (const [i, name] of names.entries()) {
    const c = await EtcdCluster.join(
      { endpoints: [file.etcd.endpoint], leaseTtlSeconds: 5, prefix },
      member(name, 11 + i),
      pino({ level: 'silent' }),
    );
    file.opened.push(c);
    hosts.push(c);
  }
  return { prefix, hosts };
}

/** A move from `from` into `to` under the drain defaults' shape. */
const poolsOf = (from: string, to: string, maxPerHost: number, maxPerLink: number): SlotPool[] => [
  { kind: 'host', host: to, max: maxPerHost },
  { kind: 'link', host: from, max: maxPerLink },
  { kind: 'link', host: to, max: maxPerLink },
];
const holder = (host: string, vm: string) => ({ host, drain: `d-${host}`, vm, at: new Date().toISOString() });

async function keysUnder(prefix: string): Promise<string[]> {
  return (await file.raw.getAll().prefix(`${prefix}slots/`).keys()).sort();
}

describe('drain slots in etcd', () => {
  it('two drains of two hosts into one target never hold more than maxPerHost of its slots', async () => {
    const { prefix, hosts } = await joinHosts('a', 'b');
    const [a, b] = [hosts[0]!, hosts[1]!];
    const first = await a.takeSlots(poolsOf('a', 't', 1, 4), holder('a', 'v1'));
    expect(first.ok).toBe(true);
    expect(await keysUnder(prefix)).toEqual(
      [`${prefix}slots/host/t/0`, `${prefix}slots/link/a/0`, `${prefix}slots/link/t/0`].sort(),
    );
    const refused = await b.takeSlots(poolsOf('b', 't', 1, 4), holder('b', 'w1'));
    expect(refused).toMatchObject({
      ok: false,
      pool: { kind: 'host', host: 't' },
      holders: [{ host: 'a', vm: 'v1' }],
    });
    // All or nothing: b's refusal left none of its link slots behind.
    expect(await keysUnder(prefix)).toHaveLength(3);
    if (!first.ok) throw new Error('unreachable');
    await a.releaseSlots(first.slots);
    expect(await keysUnder(prefix)).toEqual([]);
    const next = await b.takeSlots(poolsOf('b', 't', 1, 4), holder('b', 'w1'));
    expect(next.ok).toBe(true);
  });

  it('refuses a move whose own link is full though its target has room, taking nothing', async () => {
    const { prefix, hosts } = await joinHosts('a');
    const a = hosts[0]!;
    expect((await a.takeSlots(poolsOf('a', 't1', 2, 1), holder('a', 'v1'))).ok).toBe(true);
    const r = await a.takeSlots(poolsOf('a', 't2', 2, 1), holder('a', 'v2'));
    expect(r).toMatchObject({ ok: false, pool: { kind: 'link', host: 'a' } });
    expect(await keysUnder(prefix)).toHaveLength(3);
  });

  it('frees the slots of a host whose lease goes (its agent closed)', async () => {
    const { prefix, hosts } = await joinHosts('a', 'b');
    const [a, b] = [hosts[0]!, hosts[1]!];
    expect((await a.takeSlots(poolsOf('a', 't', 1, 1), holder('a', 'v1'))).ok).toBe(true);
    expect((await b.takeSlots(poolsOf('b', 't', 1, 1), holder('b', 'w1'))).ok).toBe(false);
    await a.close();
    file.opened.splice(file.opened.indexOf(a), 1);
    expect(await keysUnder(prefix)).toEqual([]);
    expect((await b.takeSlots(poolsOf('b', 't', 1, 1), holder('b', 'w1'))).ok).toBe(true);
  });

  it('leaves a slot alone that another taker holds since (release compares its create revision)', async () => {
    const { prefix, hosts } = await joinHosts('a', 'b');
    const [a, b] = [hosts[0]!, hosts[1]!];
    const r1 = await a.takeSlots(poolsOf('a', 't', 1, 1), holder('a', 'v1'));
    if (!r1.ok) throw new Error('first take refused');
    await a.releaseSlots(r1.slots);
    expect((await b.takeSlots(poolsOf('b', 't', 1, 1), holder('b', 'w1'))).ok).toBe(true);
    await a.releaseSlots(r1.slots); // a late second release of a's old slots
    expect(await keysUnder(prefix)).toContain(`${prefix}slots/host/t/0`);
  });

  it('writes the drain report under drains/<host> without a lease', async () => {
    const { prefix, hosts } = await joinHosts('a');
    const a = hosts[0]!;
    await a.putDrain('a', { id: 'd1', state: 'running' });
    const kv = await file.raw.get(`${prefix}drains/a`).exec();
    expect(JSON.parse(kv.kvs[0]!.value.toString())).toEqual({ id: 'd1', state: 'running' });
    expect(kv.kvs[0]!.lease).toBe('0');
    await a.close();
    file.opened.splice(file.opened.indexOf(a), 1);
    expect(await file.raw.get(`${prefix}drains/a`).string()).toContain('d1');
  });
});
