// ClusterMode's member record against a real etcd: the load it carries (free memory, VM count)
// and the QEMU facts are written again when they moved enough, and not at every tick.
import { randomUUID } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemberRecord } from '../cluster/etcd-cluster.js';
import { startEtcd, type EtcdProcess } from '../cluster/testing/etcd-process.js';
import { pollUntil } from '../poll-until.js';
import { ClusterMode } from './cluster-mode.js';

let etcd: EtcdProcess;
let raw: Etcd3;
const GiB = 1024 ** 3;

beforeAll(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.endpoint });
});
afterAll(async () => {
  raw?.close();
  await etcd?.stop();
});

describe('ClusterMode member record', () => {
  it('writes load and QEMU facts to members/<host> when the VM count or free memory moved', async () => {
    const prefix = `/vmhop-test-${randomUUID().slice(0, 8)}/`;
    let record: MemberRecord = {
      name: 'a',
      url: 'https://a.test:8443',
      migrationAddress: 'a.test',
      agentVersion: '0.1.0',
      protocolVersions: { min: 1, max: 3 },
      maintenance: false,
      load: { memoryFreeBytes: 10 * GiB, vmCount: 2, at: new Date().toISOString() },
    };
    const cluster = new ClusterMode(
      { endpoints: [etcd.endpoint], leaseTtlSeconds: 5, prefix },
      () => record,
      pino({ level: 'silent' }),
      () => [],
      { loadRefreshMs: 30, memoryTotalBytes: () => 16 * GiB },
    );
    cluster.start();
    try {
      expect(await cluster.joined(5_000)).toBe(true);
      const stored = async () =>
        JSON.parse((await raw.get(`${prefix}members/a`).string()) ?? '{}') as MemberRecord;
      const seen = (want: (m: MemberRecord) => boolean) =>
        pollUntil(async () => ((m) => (want(m) ? m : undefined))(await stored()), {
          intervalMs: 20,
          deadlineMs: 3_000,
        });
      const rev = async () => (await raw.get(`${prefix}members/a`).exec()).kvs[0]!.mod_revision;
      // A small move of free memory (under 5 % of 16 GiB) is not worth a write.
      const before = await rev();
      record = { ...record, load: { ...record.load!, memoryFreeBytes: 10.5 * GiB } };
      await new Promise((r) => setTimeout(r, 200));
      expect(await rev()).toBe(before);
      record = {
        ...record,
        qemu: { version: '7.2.0', accel: 'tcg' },
        load: { ...record.load!, vmCount: 3 },
      };
      const m = await seen((x) => x.load?.vmCount === 3);
      expect(m).toMatchObject({ qemu: { version: '7.2.0', accel: 'tcg' }, maintenance: false });
    } finally {
      await cluster.close();
    }
  });
});
