// The target's `migrationPorts` (issue 16 §1): an administrator beside libvirtd moves vmhop's
// migration listeners off 49152-49215, and the firewall opens exactly that range. Two agents in
// one process over the fake QEMU: the target's RAM listener is inside its configured range, its
// prepare reply names the range (the source's post-copy probe aims below it), and a range whose
// every port is taken fails the job with the error that names it, the source VM still running.
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PrepareReply, PrepareRequest } from '../../src/agent/peers/peer-link.js';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { agentPair } from './helpers/agent-pair.js';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import type { TestAgent } from './helpers/test-agent.js';

/** Keeps the target's prepare reply, as the source's engine saw it. */
class RecordingLink extends DirectPeerLink {
  replies: PrepareReply[] = [];
  override async prepare(req: PrepareRequest): Promise<PrepareReply> {
    const reply = await super.prepare(req);
    this.replies.push(reply);
    return reply;
  }
}

let fake: FakeQemu;
const agents: TestAgent[] = [];
const squatters: net.Server[] = [];
beforeAll(async () => {
  fake = await buildFakeQemu();
});
afterAll(async () => fake.remove());
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await Promise.all(squatters.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Two agents, the target listening for migrations on its own loopback address and `ports`. */
async function pair(address: string, ports: { first: number; count: number }) {
  return agentPair(agents, {
    qemuBinary: fake.binary,
    link: (name, t) => new RecordingLink(name, t),
    targetConfig: { migrationAddress: address, migrationPorts: ports },
  });
}

async function migrate(a: TestAgent) {
  const res = await a.api('POST', '/v1/migrations', {
    vm: 'v1',
    to: 'b',
    mode: 'live-shared',
    options: { insecure: true },
  });
  expect(res.status, res.text).toBe(202);
  return a.services.engine
    .wait(res.body.job.id as string)
    .catch(() => a.services.engine.info(res.body.job.id));
}

describe("the target's migrationPorts", () => {
  it('puts the RAM listener inside the configured range and names the range to the source', async () => {
    const ports = { first: 47_500, count: 4 };
    const { a, b, link } = await pair('127.0.0.71', ports);
    const job = await migrate(a);
    expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
    const listening = b.services.jobStore
      .journalOf(job.id)
      .map((l) => l.entry)
      .find((e) => e.startsWith('listening on '));
    const port = Number(/^listening on 127\.0\.0\.71:(\d+) /.exec(listening ?? '')?.[1]);
    expect(port, listening).toBeGreaterThanOrEqual(ports.first);
    expect(port, listening).toBeLessThan(ports.first + ports.count);
    expect(link.replies).toEqual([expect.objectContaining({ port, migrationPorts: ports })]);
    expect((await b.services.hostInfo()).migrationPorts).toEqual(ports);
  });

  it('fails the job naming the range when every port of it is taken, and the source keeps the VM', async () => {
    const ports = { first: 47_510, count: 2 };
    const address = '127.0.0.72';
    for (let i = 0; i < ports.count; i++) {
      const s = net.createServer((c) => c.destroy());
      squatters.push(s);
      await new Promise<void>((r) => s.listen(ports.first + i, address, r));
    }
    const { a, b } = await pair(address, ports);
    const job = await migrate(a);
    expect(job.state).toBe('failed');
    expect(job.report?.error).toMatchObject({
      code: 'VMHOP_ERR_MIGRATION_FAILED',
      message: expect.stringContaining(
        `no free port for an incoming migration on ${address} (47510-47511); free one of them, or widen the agent's migrationPorts`,
      ),
    });
    expect((await a.api('GET', '/v1/vms/v1')).body).toMatchObject({ state: 'running' });
    expect(b.services.vmStore.get('v1')).toBeUndefined();
    expect(squatters.every((s) => s.listening)).toBe(true);
  });
});
