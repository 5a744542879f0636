// The fleet-wide budgets of drains (docs/fleet-etcd.md, "The drain's queue and budgets in etcd"):
// counting semaphores of keys `slots/host/<target>/<n>` (moves into one host) and
// `slots/link/<host>/<n>` (moves over one host's link), each slot a create-only put under the
// taker's lease, so a dead agent frees its slots with its lease. One move's slots are taken in one
// transaction: all or none. It knows nothing of drains beyond the holder's value; no QEMU here.
import type { Etcd3, IKeyValue } from 'etcd3';
import { z } from 'zod';
import { bounded, unreachable } from './client.js';
import type { ClusterKeys } from './keys.js';

export const SlotHolder = z.object({
  host: z.string().min(1),
  drain: z.string().min(1),
  vm: z.string().min(1),
  job: z.string().min(1).optional(),
  at: z.string().min(1),
});
export type SlotHolder = z.infer<typeof SlotHolder>;

/** One semaphore: `kind` host (moves into it) or link (moves over it), `max` slots. */
export interface SlotPool {
  kind: 'host' | 'link';
  host: string;
  max: number;
}

export interface TakenSlots {
  keys: string[];
  /** The revision that created them: a release deletes only keys created then. */
  revision: string;
}

export type TakeResult =
  { ok: true; slots: TakenSlots } | { ok: false; pool: SlotPool; holders: (SlotHolder | undefined)[] };

export interface SlotDeps {
  client: Etcd3;
  keys: ClusterKeys;
  endpoints: string[];
  callTimeoutMs: number;
  leaseId: () => Promise<string>;
}

function poolPrefix(keys: ClusterKeys, p: SlotPool): string {
  return keys.slotPool(p.kind, p.host);
}

function holderOf(kv: IKeyValue): SlotHolder | undefined {
  try {
    const r = SlotHolder.safeParse(JSON.parse(kv.value.toString()));
    return r.success ? r.data : undefined;
  } catch {
    return undefined; // an operator's stray value still counts as taken; it just names no one
  }
}

/**
 * One slot of every pool, or none: reads which slots are held, then creates a free one of each in
 * one transaction (compare create_revision = 0). A race lost to another taker answers busy too.
 */
export async function takeSlots(d: SlotDeps, pools: SlotPool[], holder: SlotHolder): Promise<TakeResult> {
  const what = `taking slots for VM \`${holder.vm}\` (drain ${holder.drain})`;
  const call = <T>(p: Promise<T>) =>
    bounded(p, d.callTimeoutMs).catch((e: unknown) => {
      throw unreachable(what, d.endpoints, e, { drain: holder.drain, vm: holder.vm, outcomeKnown: false });
    });
  const held = await call(
    Promise.all(pools.map((p) => d.client.getAll().prefix(poolPrefix(d.keys, p)).exec())),
  );
  const chosen: string[] = [];
  for (const [i, pool] of pools.entries()) {
    const kvs = held[i]!.kvs;
    const taken = new Set(kvs.map((kv) => kv.key.toString()));
    const free = [...Array(pool.max).keys()]
      .map((n) => `${poolPrefix(d.keys, pool)}${n}`)
      .find((k) => !taken.has(k));
    if (free === undefined) return { ok: false, pool, holders: kvs.map(holderOf) };
    chosen.push(free);
  }
  const lease = await call(d.leaseId());
  const value = JSON.stringify(holder);
  const [first, ...rest] = chosen;
  if (first === undefined) return { ok: true, slots: { keys: [], revision: '0' } };
  let txn = d.client.if(first, 'Create', '==', 0);
  for (const k of rest) txn = txn.and(k, 'Create', '==', 0);
  const r = await call(
    txn
      .then(...chosen.map((k) => d.client.put(k).value(value).lease(lease)))
      .else(...chosen.map((k) => d.client.get(k)))
      .commit(),
  );
  if (r.succeeded) return { ok: true, slots: { keys: chosen, revision: r.header.revision } };
  const lost = r.responses.findIndex((x) => (x.response_range?.kvs.length ?? 0) > 0);
  const kv = r.responses[Math.max(0, lost)]?.response_range?.kvs[0];
  return { ok: false, pool: pools[Math.max(0, lost)]!, holders: kv ? [holderOf(kv)] : [] };
}

/** Deletes each key still holding the slot taken at `revision` (a slot re-taken since is left). */
export async function releaseSlots(d: SlotDeps, slots: TakenSlots): Promise<void> {
  const results = await Promise.allSettled(
    slots.keys.map((k) =>
      bounded(
        d.client.if(k, 'Create', '==', slots.revision).then(d.client.delete().key(k)).commit(),
        d.callTimeoutMs,
      ),
    ),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed)
    throw unreachable(`release of slots ${slots.keys.join(', ')}`, d.endpoints, failed.reason, {
      keys: slots.keys,
      outcomeKnown: false,
    });
}

/** drains/<host>: the drain's report for other hosts and tools; no lease, it outlives the agent. */
export async function putDrain(d: SlotDeps, host: string, doc: unknown): Promise<void> {
  const key = d.keys.drain(host);
  try {
    await bounded(d.client.put(key).value(JSON.stringify(doc)).exec(), d.callTimeoutMs);
  } catch (e) {
    throw unreachable(`write of ${key}`, d.endpoints, e, { host, outcomeKnown: false });
  }
}
