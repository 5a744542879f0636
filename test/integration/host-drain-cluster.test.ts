// A drain in cluster mode over two agents in one process, the fake QEMU and a real etcd: a move
// into `b` whose only host slot another drain holds stays queued (journaled once, naming the
// holder) and starts once that slot is freed; the drain then completes, its slots are gone and
// its report is in drains/a.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdProcess } from '../../src/agent/cluster/testing/etcd-process.js';
import { drainRunnerOf } from '../../src/agent/fleet/drain-runner.js';
import { pollUntil } from '../../src/agent/poll-until.js';
import { DrainJob } from '../../src/protocol/drain.js';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import { clusterCerts } from './helpers/peer-tls.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let etcd: EtcdProcess;
let raw: Etcd3;
let fake: FakeQemu;
let certDir: string;
const agents: TestAgent[] = [];
const prefix = `/vmhop-test-${randomUUID().slice(0, 8)}/`;

beforeAll(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.endpoint });
  fake = await buildFakeQemu();
  certDir = await mkdtemp(join(tmpdir(), 'vmhop-drain-cluster-ca-'));
  const certs = await clusterCerts(certDir, ['a', 'b']);
  const cluster = { etcd: { endpoints: [etcd.endpoint], leaseTtlSeconds: 5, prefix } };
  for (const name of ['a', 'b'] as const) {
    const t = await TestAgent.start({ name, tls: certs[name], qemuBinary: fake.binary, config: { cluster } });
    agents.push(t);
    t.services.cluster!.start();
    expect(await t.services.cluster!.joined(5_000)).toBe(true);
  }
  const [a, b] = [agents[0]!, agents[1]!];
  a.services.attachPeer(new DirectPeerLink('b', b.services));
  b.services.attachPeer(new DirectPeerLink('a', a.services));
  await a.createVolume('off-vda.qcow2', 16 * 1024 * 1024);
  const spec = kernelVm('off', {
    memoryMiB: 64,
    disks: [{ target: 'vda', pool: 'default', volume: 'off-vda.qcow2' }],
  });
  const res = await a.api('POST', '/v1/vms', { spec });
  expect(res.status, res.text).toBe(201);
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.splice(0).map((t) => t.close()));
  await fake?.remove();
  if (certDir) await rm(certDir, { recursive: true, force: true });
  raw?.close();
  await etcd?.stop();
});

describe('a drain in cluster mode', () => {
  it('waits for the target slot another drain holds, then moves once it is freed', async () => {
    const a = agents[0]!;
    const held = `${prefix}slots/host/b/0`;
    const other = { host: 'c', drain: 'dc', vm: 'w1', at: new Date().toISOString() };
    await raw.put(held).value(JSON.stringify(other)).exec();
    const res = await a.api('POST', '/v1/host/drain', {
      to: ['b'],
      maxPerHost: 1,
      maxPerLink: 1,
      insecure: true,
    });
    expect(res.status, res.text).toBe(202);
    const id = res.body.id as string;
    const runner = drainRunnerOf(a.services);
    const waits = await pollUntil(
      () => runner.info(id).journal?.find((j) => j.entry.startsWith('off: waits for a slot')),
      { intervalMs: 50, deadlineMs: 5_000 },
    );
    expect(waits?.entry).toContain('w1 of the drain of `c`');
    // Still queued a few polls later, and said only once.
    await new Promise((r) => setTimeout(r, 2_500));
    const meanwhile = runner.info(id);
    expect(meanwhile.vms[0]!.state).toBe('queued');
    expect(meanwhile.state).toBe('running');
    expect(meanwhile.journal!.filter((j) => j.entry.includes('waits for a slot'))).toHaveLength(1);
    await raw.delete().key(held).exec();
    const d = DrainJob.parse(await runner.wait(id));
    expect(d.state, JSON.stringify(d.journal)).toBe('completed');
    expect(d.vms[0]!.state).toBe('moved');
    expect(await raw.getAll().prefix(`${prefix}slots/`).keys()).toEqual([]);
    const report = await pollUntil(
      async () => {
        const doc = JSON.parse((await raw.get(`${prefix}drains/a`).string()) ?? '{}') as DrainJob;
        return doc.state === 'completed' ? doc : undefined;
      },
      { intervalMs: 50, deadlineMs: 5_000 },
    );
    expect(report).toMatchObject({ id, host: 'a', total: { moved: 1 } });
  });
});
