// vms/<uuid>/owner: who may run a VM (docs/fleet-etcd.md, "The owner key"). The key has no
// lease and changes only by compare-and-swap: created once (define, import), moved by the one
// transaction that is a migration's commit point, deleted by its owner (undefine). A call that
// gets no answer may still apply later; such errors say so with `outcomeKnown: false`.
import type { Etcd3, IKeyValue, IRangeResponse } from 'etcd3';
import { VmhopError } from '../../protocol/errors.js';
import { bounded, unreachable } from './client.js';
import type { ClusterKeys } from './keys.js';
import { ownerValue, parseOwner, type OwnerRecord } from './records.js';

export type ClaimResult = { ok: true; owner: OwnerRecord } | { ok: false; owner: OwnerRecord };
export type CommitResult =
  { outcome: 'committed'; owner: OwnerRecord } | { outcome: 'refused'; reason: string; owner?: OwnerRecord };

export interface OwnerDeps {
  client: Etcd3;
  keys: ClusterKeys;
  endpoints: string[];
  self: string;
  callTimeoutMs: number;
}

function firstKv(r: IRangeResponse | undefined): IKeyValue | undefined {
  return r?.kvs[0];
}

function readOwner(key: string, kv: IKeyValue | undefined): OwnerRecord | undefined {
  if (!kv) return undefined;
  const o = parseOwner(key, kv.value, kv.mod_revision);
  if (o instanceof VmhopError) throw o;
  return o;
}

async function call<T>(
  d: OwnerDeps,
  what: string,
  p: Promise<T>,
  details: Record<string, unknown>,
): Promise<T> {
  try {
    return await bounded(p, d.callTimeoutMs);
  } catch (e) {
    throw unreachable(what, d.endpoints, e, details);
  }
}

export async function claimVm(d: OwnerDeps, uuid: string, vm: string): Promise<ClaimResult> {
  const key = d.keys.owner(uuid);
  const value = { host: d.self, vm, epoch: 1 };
  const txn = d.client
    .if(key, 'Create', '==', 0)
    .then(d.client.put(key).value(ownerValue(value)))
    .else(d.client.get(key))
    .commit();
  // A claim whose answer was lost may have applied: a repeat then shows this host as the owner.
  const r = await call(d, `claim of VM \`${vm}\` (${uuid}) for host \`${d.self}\``, txn, {
    uuid,
    vm,
    outcomeKnown: false,
  });
  if (r.succeeded) return { ok: true, owner: { ...value, modRevision: r.header.revision } };
  const owner = readOwner(key, firstKv(r.responses[0]?.response_range));
  if (!owner) throw new Error(`etcd refused the create-only put of ${key} yet holds no such key`);
  return { ok: false, owner };
}

/** Linearizable: a read that etcd's leader confirms, never a follower's possibly stale copy. */
export async function ownerOf(d: OwnerDeps, uuid: string): Promise<OwnerRecord | undefined> {
  const key = d.keys.owner(uuid);
  const r = await call(d, `read of the owner of VM ${uuid}`, d.client.get(key).exec(), {
    uuid,
    outcomeKnown: true,
  });
  return readOwner(key, firstKv(r));
}

export async function commitOwner(
  d: OwnerDeps,
  uuid: string,
  expect: OwnerRecord,
  toHost: string,
  job: string,
): Promise<CommitResult> {
  const key = d.keys.owner(uuid);
  const memberKey = d.keys.member(toHost);
  const next = { host: toHost, vm: expect.vm, job, epoch: expect.epoch + 1 };
  const txn = d.client
    .if(key, 'Mod', '==', expect.modRevision)
    .and(memberKey, 'Version', '>', 0)
    .then(d.client.put(key).value(ownerValue(next)))
    .else(d.client.get(key), d.client.get(memberKey))
    .commit();
  const r = await call(
    d,
    `commit of VM \`${expect.vm}\` (${uuid}) to host \`${toHost}\` (job ${job}); the outcome is unknown, the transaction may still apply: read the owner when etcd answers`,
    txn,
    { uuid, vm: expect.vm, toHost, job, expectModRevision: expect.modRevision, outcomeKnown: false },
  );
  if (r.succeeded) return { outcome: 'committed', owner: { ...next, modRevision: r.header.revision } };
  const owner = readOwner(key, firstKv(r.responses[0]?.response_range));
  if (owner && owner.host === toHost && owner.job === job) return { outcome: 'committed', owner };
  return {
    outcome: 'refused',
    reason: refusal(expect, toHost, owner, !!firstKv(r.responses[1]?.response_range)),
    owner,
  };
}

function refusal(
  expect: OwnerRecord,
  toHost: string,
  owner: OwnerRecord | undefined,
  memberAlive: boolean,
): string {
  if (!owner)
    return `VM \`${expect.vm}\` has no owner record in etcd any more (undefined since revision ${expect.modRevision})`;
  if (owner.modRevision !== expect.modRevision)
    return `the owner of VM \`${expect.vm}\` changed since revision ${expect.modRevision}: now host \`${owner.host}\`${owner.job ? ` (job ${owner.job})` : ''}, epoch ${owner.epoch}, revision ${owner.modRevision}`;
  if (!memberAlive)
    return `host \`${toHost}\` is not a live cluster member (no members/${toHost} key: its lease expired or it never joined); the VM stays with \`${owner.host}\``;
  return `etcd refused the commit of VM \`${expect.vm}\` to \`${toHost}\` for no reason this client knows`;
}

export type FenceResult = { fenced: true; owner: OwnerRecord } | { fenced: false; owner?: OwnerRecord };

/**
 * Settle-by-swap after a commit with an unknown outcome: replaces the owner at
 * `expect.modRevision` by the same host one epoch on, so a late commit transaction comparing
 * that revision can never apply. `fenced: false` with the owner found when the revision moved
 * (the late commit may have applied: read who owns it now).
 */
export async function fenceOwner(d: OwnerDeps, uuid: string, expect: OwnerRecord): Promise<FenceResult> {
  const key = d.keys.owner(uuid);
  const next = { host: expect.host, vm: expect.vm, epoch: expect.epoch + 1 };
  const txn = d.client
    .if(key, 'Mod', '==', expect.modRevision)
    .then(d.client.put(key).value(ownerValue(next)))
    .else(d.client.get(key))
    .commit();
  const r = await call(
    d,
    `fence of the owner of VM \`${expect.vm}\` (${uuid}) at revision ${expect.modRevision}`,
    txn,
    {
      uuid,
      expectModRevision: expect.modRevision,
      outcomeKnown: false,
    },
  );
  if (r.succeeded) return { fenced: true, owner: { ...next, modRevision: r.header.revision } };
  return { fenced: false, owner: readOwner(key, firstKv(r.responses[0]?.response_range)) };
}

/** Deletes the owner key if it names this host; returns the owner it left in place otherwise. */
export async function releaseVm(d: OwnerDeps, uuid: string): Promise<OwnerRecord | undefined> {
  const key = d.keys.owner(uuid);
  for (let attempt = 0; attempt < 2; attempt++) {
    const owner = await ownerOf(d, uuid);
    if (!owner || owner.host !== d.self) return owner;
    const txn = d.client.if(key, 'Mod', '==', owner.modRevision).then(d.client.delete().key(key)).commit();
    const r = await call(d, `release of VM \`${owner.vm}\` (${uuid}) by host \`${d.self}\``, txn, {
      uuid,
      outcomeKnown: false,
    });
    if (r.succeeded) return undefined;
  }
  return ownerOf(d, uuid);
}
