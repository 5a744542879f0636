// Rolling upgrades (issue 16) on two engines in one process over the fake QEMU: the source picks
// the newest protocol version both agents speak at the pre-flight and every message of the job
// carries it; a target of the previous vmhop (it speaks only 2, its routes refuse the rest) gets 2
// in every message; with no version in common nothing is sent and the pre-flight names both
// ranges and the host to upgrade; the target's routes take 2 and 3 and refuse 1 and 4.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/agent/http/app.js';
import type { VersionRange } from '../../src/protocol/protocol-version.js';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { agentPair, startMigration } from './helpers/agent-pair.js';
import { expectApiError } from './helpers/api-expect.js';
import { within } from './helpers/pair-oracles.js';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import { clusterCerts } from './helpers/peer-tls.js';
import { TestAgent } from './helpers/test-agent.js';

let fake: FakeQemu;
let certDir: string;
let agents: TestAgent[] = [];
beforeAll(async () => {
  fake = await buildFakeQemu();
  certDir = await mkdtemp(join(tmpdir(), 'vmhop-rolling-ca-'));
});
afterEach(async () => {
  await Promise.all(agents.map((x) => x.close()));
  agents = [];
});
afterAll(async () => {
  await fake?.remove();
  await rm(certDir, { recursive: true, force: true });
});

/** a with running VM `v1`, and b's agent speaking `protocols` (this vmhop's when absent). */
const livePair = (protocols?: VersionRange) =>
  agentPair(agents, {
    qemuBinary: fake.binary,
    link: (name, t) => new DirectPeerLink(name, t, protocols),
  });

/** Two agents with certificates of one CA (a volume copy's data listener takes only mutual TLS). */
async function copyPair(protocols?: VersionRange) {
  const certs = await clusterCerts(certDir, ['a', 'b']);
  const a = await TestAgent.start({ name: 'a', tls: certs.a });
  agents.push(a);
  const b = await TestAgent.start({ name: 'b', tls: certs.b });
  agents.push(b);
  const link = new DirectPeerLink('b', b.services, protocols);
  a.services.attachPeer(link);
  b.services.attachPeer(new DirectPeerLink('a', a.services));
  await a.createVolume('data.qcow2', 4 * 1024 * 1024);
  return { a, b, link };
}

/** Until the job of `a` copies RAM. */
const inRamCopy = (a: TestAgent, id: string) =>
  within(() => a.services.engine.info(id).progress?.stage === 'ram', 20_000, 'the RAM copy runs');

const calls = (link: DirectPeerLink) => link.versions.map((v) => v.call);
const versionsSent = (link: DirectPeerLink) => [...new Set(link.versions.map((v) => v.protocolVersion))];

describe('the protocol version of a job', () => {
  it('is 3, the newest both speak, between agents of this vmhop, in every message', async () => {
    const { a, link } = await livePair();
    const id = await startMigration(a);
    const job = await a.services.engine.wait(id);
    expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
    expect(calls(link)).toEqual(expect.arrayContaining(['prepare', 'finish']));
    expect(versionsSent(link)).toEqual([3]);
    expect(a.services.jobStore.get(id).protocolVersion).toBe(3);
    expect(job.preflight?.find((k) => k.name === 'protocol')?.detail).toBe(
      'speaking vmhop protocol 3 with the target: `b` speaks vmhop protocol 2..3, this agent (`a`) 2..3',
    );
  });

  it('is 2 in every message of a live migration to a target of the previous vmhop', async () => {
    const { a, b, link } = await livePair({ min: 2, max: 2 });
    const id = await startMigration(a);
    const job = await a.services.engine.wait(id);
    expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
    expect(calls(link)).toEqual(expect.arrayContaining(['prepare', 'finish']));
    expect(versionsSent(link)).toEqual([2]);
    // The target keeps the version its job was prepared in.
    expect(b.services.jobStore.get(id).protocolVersion).toBe(2);
  });

  it('is 2 in the abort of a cancelled migration to a target of the previous vmhop', async () => {
    const { a, b, link } = await livePair({ min: 2, max: 2 });
    const id = await startMigration(a, { bandwidthMiBs: 1 });
    await inRamCopy(a, id);
    a.services.engine.abort(id);
    expect((await a.services.engine.wait(id)).state).toBe('cancelled');
    expect(calls(link)).toEqual(['prepare', 'abort']);
    expect(versionsSent(link)).toEqual([2]);
    await within(() => b.qemuPids().length === 0, 10_000, 'target clean');
  });

  it('stays 2 after the source agent restarts mid-job: its recovery aborts the target in 2', async () => {
    const { a, b, link } = await livePair({ min: 2, max: 2 });
    const id = await startMigration(a, { bandwidthMiBs: 1 });
    await inRamCopy(a, id);
    const after = new DirectPeerLink('b', b.services, { min: 2, max: 2 });
    await a.restart((s) => s.attachPeer(after));
    await within(() => a.services.jobStore.get(id).state !== 'running', 20_000, 'restarted source settles');
    expect(a.services.jobStore.get(id).state).toBe('failed');
    expect(calls(link)).toEqual(['prepare']);
    expect(calls(after)).toEqual(['abort']);
    expect(versionsSent(after)).toEqual([2]);
  });

  it('is 2 in every message of a volume copy to a target of the previous vmhop', async () => {
    const { a, link } = await copyPair({ min: 2, max: 2 });
    const res = await a.api('POST', '/v1/volumes/copy', { pool: 'default', volume: 'data.qcow2', to: 'b' });
    expect(res.status, res.text).toBe(202);
    const job = await a.services.engine.wait(res.body.id as string);
    expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
    expect(calls(link)).toEqual(['offlinePrepare', 'offlineCommit']);
    expect(versionsSent(link)).toEqual([2]);
  });
});

describe('two agents with no version in common', () => {
  it('refuses the migration at the pre-flight, naming both ranges and the host to upgrade; nothing is sent', async () => {
    const { a, link } = await livePair({ min: 1, max: 1 });
    const res = await a.api('POST', '/v1/migrations', {
      vm: 'v1',
      to: 'b',
      mode: 'live-shared',
      options: { insecure: true },
    });
    expectApiError(
      res,
      422,
      'VMHOP_ERR_MIGRATION_PREFLIGHT',
      /protocol: target `b` speaks vmhop protocol 1\.\.1, this agent \(`a`\) 2\.\.3 \(fix: upgrade `b` to a vmhop that speaks 2 or later\)/,
    );
    expect(link.versions).toEqual([]);
    expect(a.services.jobStore.list()).toEqual([]);
  });

  it('names this host when the target is the newer one (4..5)', async () => {
    const { a } = await livePair({ min: 4, max: 5 });
    const res = await a.api('POST', '/v1/migrations', {
      vm: 'v1',
      to: 'b',
      mode: 'live-shared',
      dryRun: true,
      options: { insecure: true },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.preflight.find((k: { name: string }) => k.name === 'protocol')).toEqual({
      name: 'protocol',
      ok: false,
      detail: 'target `b` speaks vmhop protocol 4..5, this agent (`a`) 2..3',
      fix: 'upgrade `a` to a vmhop that speaks 4 or later',
    });
  });

  it('refuses a volume copy before a job exists', async () => {
    const { a, link } = await copyPair({ min: 1, max: 1 });
    const res = await a.api('POST', '/v1/volumes/copy', { pool: 'default', volume: 'data.qcow2', to: 'b' });
    expectApiError(
      res,
      422,
      'VMHOP_ERR_MIGRATION_PREFLIGHT',
      /upgrade `b` to a vmhop that speaks 2 or later/,
    );
    expect(link.versions).toEqual([]);
    expect(a.services.jobStore.list()).toEqual([]);
  });
});

describe("the target's peer routes", () => {
  it('take messages of 2 and 3 and refuse 1 and 4 with 409, naming their range', async () => {
    const t = await TestAgent.start({ name: 't' });
    agents.push(t);
    // Authentication off: the route's own checks, as a peer agent with a cluster certificate reaches them.
    const app = await buildApp({
      services: t.services,
      auth: { tokenHashes: [], disabled: true },
      logger: false,
    });
    try {
      const probe = (protocolVersion: number) =>
        app.inject({
          method: 'POST',
          url: '/v1/peer/probe',
          payload: { protocolVersion, pool: 'default', nonce: 'n' },
        });
      for (const v of [2, 3]) expect((await probe(v)).json()).toEqual({ seen: false });
      for (const v of [1, 4]) {
        const r = await probe(v);
        expectApiError(
          { status: r.statusCode, body: r.json(), text: r.body, headers: {} },
          409,
          'VMHOP_ERR_PEER_PROTOCOL',
          new RegExp(`vmhop protocol ${v} is not one this target speaks \\(2\\.\\.3\\): upgrade`),
        );
      }
    } finally {
      await app.close();
    }
  });
});
