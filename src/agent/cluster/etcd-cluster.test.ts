// EtcdCluster against a real etcd (one process for the file, a fresh key prefix per case): two
// instances are two hosts. The cut-off case pauses etcd with SIGSTOP, so connections stay open
// and nothing answers: the failure a partition or a hung etcd gives, not a refused connection.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { isVmhopError, type VmhopError } from '../../protocol/errors.js';
import { pollUntil } from '../poll-until.js';
import { EtcdCluster, type ClusterEtcdConfig } from './etcd-cluster.js';
import { etcdForFile, testMember } from './testing/etcd-for-file.js';

const file = etcdForFile();

function config(prefix: string, endpoints = [file.etcd.endpoint]): ClusterEtcdConfig {
  return { endpoints, leaseTtlSeconds: 5, prefix };
}

const member = testMember;

/** A logger whose lines the test reads back (pino's destination is the boundary). */
function capturingLog() {
  const lines: { level: number; msg: string; key?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

async function joinHosts(...names: string[]) {
  const prefix = `/vmhop-test-${randomUUID().slice(0, 8)}/`;
  const hosts = [];
  for (const [i, name] of names.entries()) {
    const { log, lines } = capturingLog();
    const c = await EtcdCluster.join(config(prefix), member(name, 11 + i), log);
    file.opened.push(c);
    hosts.push({ c, lines });
  }
  return { prefix, hosts };
}

const until = <T>(check: () => T | undefined | Promise<T | undefined>, deadlineMs = 5_000) =>
  pollUntil(check, { intervalMs: 25, deadlineMs });

async function rejection(p: Promise<unknown>): Promise<VmhopError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isVmhopError(e)) throw new Error(`expected a VmhopError, got ${String(e)}`);
  return e;
}

describe('EtcdCluster', () => {
  it('shows a joining host to another host through its watch of members/, and its maintenance flag', async () => {
    const { hosts } = await joinHosts('a', 'b');
    const [a, b] = [hosts[0]!.c, hosts[1]!.c];
    expect(await until(() => b.member('a'))).toEqual(member('a', 11));
    expect(a.members().map((m) => m.name)).toEqual(['a', 'b']);
    expect(a.inTouch()).toBe(true);
    await a.updateSelf({ maintenance: true });
    expect(await until(() => (b.member('a')?.maintenance ? true : undefined))).toBe(true);
    await a.close();
    expect(await until(() => (b.member('a') ? undefined : 'gone'))).toBe('gone');
  });

  it('refuses a second claim of a VM, from another host or the same, and names the owner', async () => {
    const { hosts } = await joinHosts('a', 'b');
    const [a, b] = [hosts[0]!.c, hosts[1]!.c];
    const uuid = randomUUID();
    const first = await a.claimVm(uuid, 'web1');
    expect(first).toMatchObject({ ok: true, owner: { host: 'a', vm: 'web1', epoch: 1 } });
    expect(await b.claimVm(uuid, 'web1')).toEqual({ ok: false, owner: first.owner });
    expect(await a.claimVm(uuid, 'web1')).toEqual({ ok: false, owner: first.owner });
    expect(await b.ownerOf(uuid)).toEqual(first.owner);
    expect(await b.ownerOf(randomUUID())).toBeUndefined();
  });

  it('commits the owner to a live member once (epoch + 1, new revision), repeats idempotently, refuses the stale revision', async () => {
    const { hosts } = await joinHosts('a', 'b');
    const [a, b] = [hosts[0]!.c, hosts[1]!.c];
    const uuid = randomUUID();
    const { owner: atA } = await a.claimVm(uuid, 'web1');
    const r = await b.commitOwner(uuid, atA, 'b', 'job-1');
    expect(r).toMatchObject({
      outcome: 'committed',
      owner: { host: 'b', vm: 'web1', job: 'job-1', epoch: 2 },
    });
    if (r.outcome !== 'committed') throw new Error('not committed');
    expect(BigInt(r.owner.modRevision)).toBeGreaterThan(BigInt(atA.modRevision));
    expect(await b.ownerOf(uuid)).toEqual(r.owner);
    expect(await b.commitOwner(uuid, atA, 'b', 'job-1')).toEqual(r);
    const stale = await a.commitOwner(uuid, atA, 'a', 'job-2');
    expect(stale).toMatchObject({ outcome: 'refused', owner: r.owner });
    if (stale.outcome === 'refused')
      expect(stale.reason).toMatch(/changed since revision .*now host `b` \(job job-1\), epoch 2/);
  });

  it('refuses a commit to a host that has no member key (its lease expired or it never joined)', async () => {
    const { hosts } = await joinHosts('a');
    const a = hosts[0]!.c;
    const uuid = randomUUID();
    const { owner } = await a.claimVm(uuid, 'web1');
    const r = await a.commitOwner(uuid, owner, 'ghost', 'job-1');
    expect(r).toMatchObject({ outcome: 'refused', owner });
    if (r.outcome === 'refused') expect(r.reason).toMatch(/host `ghost` is not a live cluster member/);
    expect(await a.ownerOf(uuid)).toEqual(owner);
  });

  it('fences an owner revision so that a late commit comparing it is refused', async () => {
    const { hosts } = await joinHosts('a', 'b');
    const [a, b] = [hosts[0]!.c, hosts[1]!.c];
    const uuid = randomUUID();
    const { owner } = await a.claimVm(uuid, 'web1');
    const fence = await b.fenceOwner(uuid, owner);
    expect(fence).toMatchObject({ fenced: true, owner: { host: 'a', epoch: 2 } });
    expect(await b.commitOwner(uuid, owner, 'b', 'job-1')).toMatchObject({ outcome: 'refused' });
    expect(await b.fenceOwner(uuid, owner)).toMatchObject({ fenced: false, owner: { host: 'a', epoch: 2 } });
  });

  it('releases an owner key only from the host it names', async () => {
    const { hosts } = await joinHosts('a', 'b');
    const [a, b] = [hosts[0]!.c, hosts[1]!.c];
    const uuid = randomUUID();
    const { owner } = await a.claimVm(uuid, 'web1');
    await b.releaseVm(uuid);
    expect(await a.ownerOf(uuid)).toEqual(owner);
    await a.releaseVm(uuid);
    expect(await a.ownerOf(uuid)).toBeUndefined();
    await a.releaseVm(uuid);
  });

  it('reports a malformed member or owner value naming its key, and keeps working', async () => {
    const { prefix, hosts } = await joinHosts('a');
    const { c: a, lines } = hosts[0]!;
    await file.raw.put(`${prefix}members/bad`).value('{"name": "bad", not json');
    await file.raw.put(`${prefix}members/c`).value(JSON.stringify(member('c', 13)));
    expect(await until(() => a.member('c'))).toEqual(member('c', 13));
    expect(a.member('bad')).toBeUndefined();
    const err = lines.find((l) => l.key === `${prefix}members/bad`);
    expect(err?.msg).toMatch(/etcd key `.*members\/bad` does not hold a valid member record \(not JSON/);
    const uuid = randomUUID();
    await file.raw.put(`${prefix}vms/${uuid}/owner`).value('{"host": 7}');
    const e = await rejection(a.ownerOf(uuid));
    expect(e.code).toBe('VMHOP_ERR_CLUSTER_RECORD_INVALID');
    expect(e.message).toContain(`\`${prefix}vms/${uuid}/owner\` does not hold a valid owner record (host:`);
    expect(a.inTouch()).toBe(true);
  });

  it('gives up joining after ~5 s when etcd does not answer, naming the endpoints', async () => {
    const { log } = capturingLog();
    const nobody = 'http://127.0.0.1:1';
    const started = Date.now();
    const e = await rejection(EtcdCluster.join(config('/vmhop-test-none/', [nobody]), member('a', 11), log));
    const tookMs = Date.now() - started;
    expect(e.code).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE');
    expect(e.message).toContain(
      `host \`a\` cannot join the cluster: etcd at ${nobody} did not answer within 5 s`,
    );
    expect(tookMs).toBeGreaterThan(4_500);
    expect(tookMs).toBeLessThan(6_500);
    console.log(`join gave up after ${tookMs} ms`);
  });

  it('counts itself cut off within TTL - 3 s of etcd going silent, bounds a commit, and re-registers under a new lease', async () => {
    const { prefix, hosts } = await joinHosts('a', 'b');
    const [{ c: a, lines }, { c: b }] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    await until(() => b.member('a'));
    const uuid = randomUUID();
    const { owner } = await a.claimVm(uuid, 'web1');
    const leaseOfA = async () => (await file.raw.get(`${prefix}members/a`).exec()).kvs[0]?.lease;
    const leaseBefore = await leaseOfA();

    file.etcd.pause();
    const paused = Date.now();
    const commit = rejection(b.commitOwner(uuid, owner, 'b', 'job-1')).then((e) => ({
      e,
      ms: Date.now() - paused,
    }));
    const cutOff = await until(() => (a.inTouch() ? undefined : Date.now() - paused), 4_000);
    expect(cutOff).toBeDefined();
    expect(cutOff!).toBeLessThanOrEqual(2_000 + 1_000);
    expect(() => a.assertInTouch('start VMs')).toThrow(
      new RegExp(
        `^host \`a\` is cut off from etcd \\(last answer \\d+\\.\\d s ago, endpoints ${file.etcd.endpoint}\\): it keeps its running VMs running but does not start VMs until etcd answers again$`,
      ),
    );
    const { e, ms: commitMs } = await commit;
    expect(e.code).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE');
    expect(e.details.outcomeKnown).toBe(false);
    expect(commitMs).toBeLessThan(3_500);
    // Paused past the lease's TTL, so that etcd expires it on resuming and a new lease is needed.
    await new Promise((r) => setTimeout(r, Math.max(0, 6_000 - (Date.now() - paused))));

    file.etcd.resume();
    const resumed = Date.now();
    const back = await until(async () => {
      if (!a.inTouch() || !b.member('a')) return undefined;
      const lease = await leaseOfA();
      return lease !== undefined && lease !== leaseBefore ? Date.now() - resumed : undefined;
    }, 10_000);
    expect(back).toBeDefined();
    expect(lines.some((l) => l.level === 40 && /cut off from etcd/.test(l.msg))).toBe(true);
    expect(
      lines.some((l) => l.level === 30 && /registered again in etcd under a new lease/.test(l.msg)),
    ).toBe(true);
    // A host joining now reads members/ afresh: both re-registered hosts are there.
    const { log } = capturingLog();
    const c = await EtcdCluster.join(config(prefix), member('c', 13), log);
    file.opened.push(c);
    expect(
      await until(() => (c.members().length === 3 ? c.members().map((m) => m.name) : undefined)),
    ).toEqual(['a', 'b', 'c']);
    // The commit sent during the pause had an unknown outcome: either it applied or it did not.
    expect(['a', 'b']).toContain((await a.ownerOf(uuid))?.host);
    console.log(
      `cut off after ${cutOff} ms, commit gave up after ${commitMs} ms, back in touch ${back} ms after resume`,
    );
  }, 30_000);
});
