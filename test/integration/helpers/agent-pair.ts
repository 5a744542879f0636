// Two agents in one process, `a` (the source) joined to `b` by a direct peer link (or a link of
// the test's own that wraps b's services), `a` with VM `v1` of the test guest started (or
// paused), with or without a disk. Each agent goes into `agents`, which the test's afterEach closes.
import type { Logger } from 'pino';
import { expect } from 'vitest';
import type { PeerLink } from '../../../src/agent/peers/peer-link.js';
import type { AgentServices } from '../../../src/agent/services.js';
import type { JobInfo } from '../../../src/protocol/migration.js';
import { DirectPeerLink } from './direct-peer-link.js';
import { TestAgent } from './test-agent.js';
import { kernelVm, testGuest } from './vm-specs.js';

export async function agentPair<L extends PeerLink = DirectPeerLink>(
  agents: TestAgent[],
  opts: {
    paused?: boolean;
    link?: (name: string, target: AgentServices) => L;
    /** b's link to a (default a DirectPeerLink). */
    reverse?: (name: string, source: AgentServices) => PeerLink;
    /** Agent config for both (e.g. `commitAnswerSeconds`). */
    config?: Record<string, unknown>;
    /** More agent config for `b` alone (e.g. its own `migrationAddress`). */
    targetConfig?: Record<string, unknown>;
    /** The QEMU both agents run (an absolute path; the installed QEMU when absent). */
    qemuBinary?: string;
    /** Give `v1` a 64 MiB qcow2 disk `vda` on a's default pool, volume `v1-vda.qcow2`. */
    disk?: boolean;
    /** Both apps' logger (a test reading the request or migration log lines); silent when absent. */
    logger?: Logger;
  } = {},
): Promise<{ a: TestAgent; b: TestAgent; link: L }> {
  const guest = testGuest();
  if (!guest) throw new Error('the test guest is not built (scripts/build-guest.sh)');
  const common = {
    ...(opts.config ? { config: opts.config } : {}),
    ...(opts.qemuBinary ? { qemuBinary: opts.qemuBinary } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  };
  const a = await TestAgent.start({ name: 'a', ...common });
  agents.push(a);
  const b = await TestAgent.start({
    name: 'b',
    ...common,
    ...(opts.targetConfig ? { config: { ...opts.config, ...opts.targetConfig } } : {}),
  });
  agents.push(b);
  const link = opts.link ? opts.link('b', b.services) : (new DirectPeerLink('b', b.services) as unknown as L);
  a.services.attachPeer(link);
  // The target asks the source too (its watchdog of an incoming job), as over HTTPS.
  b.services.attachPeer(opts.reverse ? opts.reverse('a', a.services) : new DirectPeerLink('a', a.services));
  if (opts.disk) await a.createVolume('v1-vda.qcow2', 64 * 1024 * 1024);
  const spec = kernelVm('v1', {
    ...(opts.disk ? { disks: [{ target: 'vda', pool: 'default', volume: 'v1-vda.qcow2' }] } : {}),
    memoryMiB: 64,
    machine: 'pc',
    boot: { kind: 'kernel', kernel: guest.kernel, initrd: guest.initrd, cmdline: 'console=ttyS0 quiet' },
  });
  expect((await a.api('POST', '/v1/vms', { spec })).status).toBe(201);
  const started = await a.api('POST', '/v1/vms/v1/start', { paused: opts.paused === true });
  expect(started.status, started.text).toBe(200);
  return { a, b, link };
}

/**
 * Starts a live migration (over shared nothing, so only RAM moves) of `v1` from `from` to `to`,
 * in plaintext as the tests' agents have no migration certificates; resolves with the job's id.
 */
export async function startMigration(
  from: TestAgent,
  options: Record<string, unknown> = {},
  to = 'b',
): Promise<string> {
  const res = await from.api('POST', '/v1/migrations', {
    vm: 'v1',
    to,
    mode: 'live-shared',
    options: { insecure: true, ...options },
  });
  expect(res.status, res.text).toBe(202);
  return res.body.job.id as string;
}

/** startMigration, then the job's end. */
export async function migrateV1(from: TestAgent, options: Record<string, unknown> = {}): Promise<JobInfo> {
  return from.services.engine.wait(await startMigration(from, options));
}
