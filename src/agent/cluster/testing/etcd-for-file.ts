// Tests only: one real etcd for a test file, by vitest hooks. Started before its cases; after
// each case it is resumed (a case may have paused it) and what the case opened is closed;
// stopped after all. `raw` is a plain client, for keys written the way another writer would.
import { Etcd3 } from 'etcd3';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { MemberRecord } from '../etcd-cluster.js';
import { startEtcd, type EtcdProcess } from './etcd-process.js';

export interface EtcdForFile {
  etcd: EtcdProcess;
  raw: Etcd3;
  /** Clusters (or cluster modes) a case opened, closed after it. */
  opened: { close(): Promise<void> }[];
}

export function etcdForFile(): EtcdForFile {
  const f = { opened: [] } as unknown as EtcdForFile;
  beforeAll(async () => {
    f.etcd = await startEtcd();
    f.raw = new Etcd3({ hosts: f.etcd.endpoint });
  });
  afterEach(async () => {
    f.etcd?.resume();
    await Promise.all(f.opened.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    f.raw?.close();
    await f.etcd?.stop();
  });
  return f;
}

/** A member record of test host `name` at 10.99.0.`last`. */
export function testMember(name: string, last: number): MemberRecord {
  return {
    name,
    url: `https://10.99.0.${last}:8443`,
    migrationAddress: `10.99.0.${last}`,
    agentVersion: '0.1.0',
    protocolVersions: { min: 1, max: 3 },
    maintenance: false,
  };
}
