// The commit point in cluster mode, below e2e: two hosts (ClusterMode a and b, as their agents
// build it) against a real etcd. b takes the owner key by compare-and-swap at its commit; etcd's
// silence (the process paused) makes the outcome unknown, and a retried commit settles it: by
// fencing the old revision (the source keeps the VM) or by finding the late transaction applied
// (the target has it). After each case the owner key and the hosts' own checks must agree.
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterMode } from '../../fleet/cluster-mode.js';
import type { MemberRecord } from '../../cluster/etcd-cluster.js';
import { startEtcd, type EtcdProcess } from '../../cluster/testing/etcd-process.js';
import { OwnerCommits } from './owner-commit.js';

let etcd: EtcdProcess;
let raw: Etcd3;
const opened: ClusterMode[] = [];
const log = pino({ level: 'silent' });

beforeAll(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.endpoint });
});
afterEach(async () => {
  etcd.resume();
  await Promise.all(opened.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  raw?.close();
  await etcd?.stop();
});

const member = (name: string, last: number): MemberRecord => ({
  name,
  url: `https://10.99.0.${last}:8443`,
  migrationAddress: `10.98.0.${last}`,
  agentVersion: '0.1.0',
  protocolVersions: { min: 2, max: 3 },
  maintenance: false,
});

async function hosts() {
  const prefix = `/vmhop-test-${randomUUID().slice(0, 8)}/`;
  const cfg = { endpoints: [etcd.endpoint], leaseTtlSeconds: 5, prefix };
  const mk = (name: string, last: number) => {
    const m = new ClusterMode(
      cfg,
      () => member(name, last),
      log,
      () => [],
    );
    opened.push(m);
    m.start();
    return m;
  };
  const [a, b] = [mk('a', 11), mk('b', 12)];
  expect(await a.joined(10_000)).toBe(true);
  expect(await b.joined(10_000)).toBe(true);
  const vm = { uuid: randomUUID(), name: 'web' };
  await a.claim(vm);
  return { a, b, vm, prefix, ownerKey: `${prefix}vms/${vm.uuid}/owner` };
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string; details?: { outcomeKnown?: boolean } }) =>
      `${e.code} known=${e.details?.outcomeKnown === true}`,
  );

describe('OwnerCommits: the owner key in etcd as the commit point', () => {
  it('commits to the target, after which only the target may run the VM', async () => {
    const { a, b, vm } = await hosts();
    const commits = new OwnerCommits(b, 'b');
    await commits.atPrepare('j1', vm, 'a');
    await commits.commit('j1', vm);
    expect((await b.client()!.ownerOf(vm.uuid))?.host).toBe('b');
    await b.assertOwner(vm, 'start');
    await expect(a.assertOwner(vm, 'resume')).rejects.toMatchObject({
      code: 'VMHOP_ERR_VM_OWNED_ELSEWHERE',
      message: expect.stringMatching(/belongs to host `b`/),
    });
    // A second define of the same UUID anywhere is refused, naming the owner.
    await expect(a.claim({ ...vm, name: 'web-again' })).rejects.toMatchObject({
      code: 'VMHOP_ERR_VM_OWNED_ELSEWHERE',
    });
  });

  it('refuses a prepare from a host that is not the owner, before anything is made', async () => {
    const { b, vm } = await hosts();
    const commits = new OwnerCommits(b, 'b');
    await expect(commits.atPrepare('j2', vm, 'c')).rejects.toMatchObject({
      code: 'VMHOP_ERR_VM_OWNED_ELSEWHERE',
      message: expect.stringMatching(/names `a` its owner/),
      details: { outcomeKnown: true },
    });
  });

  it('refuses for certain when the owner moved since the prepare (the source keeps the VM)', async () => {
    const { b, vm, ownerKey } = await hosts();
    const commits = new OwnerCommits(b, 'b');
    await commits.atPrepare('j3', vm, 'a');
    // Someone else's swap in between: b's compare on the old revision must fail.
    await raw.put(ownerKey).value(JSON.stringify({ host: 'a', vm: vm.name, epoch: 7 }));
    expect(await codeOf(commits.commit('j3', vm))).toBe('VMHOP_ERR_MIGRATION_FAILED known=true');
    expect((await b.client()!.ownerOf(vm.uuid))?.host).toBe('a');
  });

  it('etcd silent at the commit: unknown; once it answers, the retry fences the old revision and refuses', async () => {
    const { a, b, vm } = await hosts();
    const commits = new OwnerCommits(b, 'b');
    await commits.atPrepare('j4', vm, 'a');
    etcd.pause();
    const t0 = Date.now();
    expect(await codeOf(commits.commit('j4', vm))).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE known=false');
    const gaveUpMs = Date.now() - t0;
    // Still silent: a retry cannot settle either, and says so.
    expect(await codeOf(commits.commit('j4', vm))).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE known=false');
    etcd.resume();
    expect(await codeOf(commits.commit('j4', vm))).toBe('VMHOP_ERR_MIGRATION_FAILED known=true');
    const owner = await a.client()!.ownerOf(vm.uuid);
    expect(owner).toMatchObject({ host: 'a', epoch: 2 });
    await a.assertOwner(vm, 'resume');
    console.log(`commit with etcd paused gave up after ${gaveUpMs} ms`);
  });

  it('etcd silent at the commit, the transaction applied after all: the retry finds it and commits', async () => {
    const { b, vm, ownerKey } = await hosts();
    const commits = new OwnerCommits(b, 'b');
    await commits.atPrepare('j5', vm, 'a');
    etcd.pause();
    expect(await codeOf(commits.commit('j5', vm))).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE known=false');
    etcd.resume();
    // What the late transaction writes when it applies after its client gave up.
    await raw.put(ownerKey).value(JSON.stringify({ host: 'b', vm: vm.name, job: 'j5', epoch: 2 }));
    expect(await codeOf(commits.commit('j5', vm))).toBe('ok');
    await b.assertOwner(vm, 'start');
  });
});
