// The commit point in cluster mode, below e2e: two hosts (ClusterMode a and b, as their agents
// build it) against a real etcd. b takes the owner key by compare-and-swap at its commit; etcd's
// silence (the process paused) makes the outcome unknown, and a retried commit settles it: by
// fencing the old revision (the source keeps the VM) or by finding the late transaction applied
// (the target has it). After each case the owner key and the hosts' own checks must agree.
import { randomUUID } from 'node:crypto';
import { createConnection, createServer, type Socket } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ClusterMode } from '../../fleet/cluster-mode.js';
import { etcdForFile, testMember } from '../../cluster/testing/etcd-for-file.js';
import { OwnerCommits } from './owner-commit.js';

const file = etcdForFile();
const log = pino({ level: 'silent' });

const member = testMember;

async function hosts() {
  const prefix = `/vmhop-test-${randomUUID().slice(0, 8)}/`;
  const cfg = { endpoints: [file.etcd.endpoint], leaseTtlSeconds: 5, prefix };
  const mk = (name: string, last: number) => {
    const m = new ClusterMode(
      cfg,
      () => member(name, last),
      log,
      () => [],
    );
    file.opened.push(m);
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
    await file.raw.put(ownerKey).value(JSON.stringify({ host: 'a', vm: vm.name, epoch: 7 }));
    expect(await codeOf(commits.commit('j3', vm))).toBe('VMHOP_ERR_MIGRATION_FAILED known=true');
    expect((await b.client()!.ownerOf(vm.uuid))?.host).toBe('a');
  });

  it('etcd paused at the commit: unknown while it is; once it answers, the outcome agrees with etcd', async () => {
    const { a, b, vm } = await hosts();
    const commits = new OwnerCommits(b, 'b');
    await commits.atPrepare('j4', vm, 'a');
    file.etcd.pause();
    const t0 = Date.now();
    expect(await codeOf(commits.commit('j4', vm))).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE known=false');
    const gaveUpMs = Date.now() - t0;
    // Still silent: a retry cannot settle either, and says so.
    expect(await codeOf(commits.commit('j4', vm))).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE known=false');
    file.etcd.resume();
    // The paused etcd still held the transaction: whether it applied depends on whether it read
    // the client's cancel first (the CI machine once applied it). Either way etcd decides.
    const outcome = await codeOf(commits.commit('j4', vm));
    const owner = await a.client()!.ownerOf(vm.uuid);
    if (outcome === 'ok') expect(owner).toMatchObject({ host: 'b', job: 'j4', epoch: 2 });
    else {
      expect(outcome).toBe('VMHOP_ERR_MIGRATION_FAILED known=true');
      expect(owner).toMatchObject({ host: 'a', epoch: 2 });
      await a.assertOwner(vm, 'resume');
    }
    console.log(`commit with etcd paused gave up after ${gaveUpMs} ms; after the resume: ${outcome}`);
  });

  it('the commit lost on the way (the path to etcd swallows it): the retry fences the old revision and refuses', async () => {
    // b reaches etcd through a proxy that can swallow bytes, as a link that drops packets: the
    // transaction never reaches etcd, so the fence is the one outcome.
    const proxy = await swallowingProxy(file.etcd.endpoint);
    try {
      const { a, vm, prefix } = await hosts();
      const cfg = { endpoints: [proxy.endpoint], leaseTtlSeconds: 5, prefix };
      const b = new ClusterMode(
        cfg,
        () => member('b', 12),
        log,
        () => [],
      );
      file.opened.push(b);
      b.start();
      expect(await b.joined(10_000)).toBe(true);
      const commits = new OwnerCommits(b, 'b');
      await commits.atPrepare('j6', vm, 'a');
      proxy.swallow(true);
      expect(await codeOf(commits.commit('j6', vm))).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE known=false');
      proxy.swallow(false);
      // Back through a new connection (the swallowed bytes broke the old one), within the client's bounds.
      let outcome = '';
      // As the source asks again: every half second, bounded.
      for (let i = 0; i < 20; i++) {
        outcome = await codeOf(commits.commit('j6', vm));
        if (outcome !== 'VMHOP_ERR_CLUSTER_UNREACHABLE known=false') break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(outcome).toBe('VMHOP_ERR_MIGRATION_FAILED known=true');
      expect(await a.client()!.ownerOf(vm.uuid)).toMatchObject({ host: 'a', epoch: 2 });
      await a.assertOwner(vm, 'resume');
    } finally {
      proxy.close();
    }
  });

  it('etcd silent at the commit, the transaction applied after all: the retry finds it and commits', async () => {
    const { b, vm, ownerKey } = await hosts();
    const commits = new OwnerCommits(b, 'b');
    await commits.atPrepare('j5', vm, 'a');
    file.etcd.pause();
    expect(await codeOf(commits.commit('j5', vm))).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE known=false');
    file.etcd.resume();
    // What the late transaction writes when it applies after its client gave up.
    await file.raw.put(ownerKey).value(JSON.stringify({ host: 'b', vm: vm.name, job: 'j5', epoch: 2 }));
    expect(await codeOf(commits.commit('j5', vm))).toBe('ok');
    await b.assertOwner(vm, 'start');
  });
});

/**
 * A TCP proxy to `target` (http://host:port) that can swallow what clients send (read and
 * dropped, nothing answered, connections kept open) and, when it stops swallowing, drops the
 * connections it swallowed on, as a network path that lost packets and then reset.
 */
async function swallowingProxy(target: string) {
  const url = new URL(target);
  let swallowing = false;
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    const up = createConnection({ host: url.hostname, port: Number(url.port) });
    const pair: [Socket, Socket] = [client, up];
    pairs.add(pair);
    client.on('data', (d) => (swallowing ? undefined : up.write(d)));
    up.on('data', (d) => (swallowing ? undefined : client.write(d)));
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      up.destroy();
    };
    client.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    swallow(on: boolean) {
      swallowing = on;
      if (!on) for (const [c, u] of pairs) destroyBoth(c, u);
    },
    close() {
      for (const [c, u] of pairs) destroyBoth(c, u);
      server.close();
    },
  };
}

function destroyBoth(a: Socket, b: Socket): void {
  a.destroy();
  b.destroy();
}
