// `vmhop host drain a --dry-run` in embedded mode (issue 17 §1): three agents in one process over
// the fake QEMU, `a` joined to its peers `b` and `c` by direct peer links and to `d` by a link that
// never answers. a's agent gathers its VMs and the peers' host facts and plans: a running VM
// without disks moves live, one with a local disk (priority 5) first, live with its disk copied, a stopped one offline;
// a VM whose CPU model no peer has cannot move, with the reason; `d` is left out, named. The CLI
// prints the same plan (executing it: host-drain.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerHostInfo } from '../../src/agent/peers/peer-link.js';
import { runVmhop } from '../../src/cli/testing/run-vmhop.js';
import { DrainPlan } from '../../src/protocol/drain.js';
import { buildFakeQemu, type FakeQemu } from '../fake-qemu/build.js';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import { TestAgent, TOKEN } from './helpers/test-agent.js';
import { kernelVm, testGuest } from './helpers/vm-specs.js';

/** A peer whose agent never answers its host facts. */
class SilentPeerLink extends DirectPeerLink {
  override async hostInfo(): Promise<PeerHostInfo> {
    throw new Error('connect ECONNREFUSED 10.99.0.14:8443');
  }
}

let fake: FakeQemu;
const agents: TestAgent[] = [];
let a: TestAgent;
let b: TestAgent;
let url: string;

beforeAll(async () => {
  const guest = testGuest();
  if (!guest) throw new Error('the test guest is not built (scripts/build-guest.sh)');
  fake = await buildFakeQemu();
  const nowhere = 'https://127.0.0.1:9';
  a = await TestAgent.start({
    name: 'a',
    qemuBinary: fake.binary,
    config: { peers: { b: nowhere, c: nowhere, d: nowhere } },
  });
  agents.push(a);
  b = await TestAgent.start({ name: 'b', qemuBinary: fake.binary });
  agents.push(b);
  const c = await TestAgent.start({ name: 'c', qemuBinary: fake.binary });
  agents.push(c);
  a.services.attachPeer(new DirectPeerLink('b', b.services));
  a.services.attachPeer(new DirectPeerLink('c', c.services));
  a.services.attachPeer(new SilentPeerLink('d', c.services));
  const boot = {
    kind: 'kernel' as const,
    kernel: guest.kernel,
    initrd: guest.initrd,
    cmdline: 'console=ttyS0',
  };
  await a.createVolume('db-vda.qcow2', 64 * 1024 * 1024);
  await a.createVolume('old-vda.qcow2', 64 * 1024 * 1024);
  const define = async (t: TestAgent, spec: ReturnType<typeof kernelVm>) => {
    const res = await t.api('POST', '/v1/vms', { spec });
    expect(res.status, res.text).toBe(201);
  };
  await define(a, kernelVm('web', { memoryMiB: 64, boot }));
  await define(
    a,
    kernelVm('db', {
      memoryMiB: 96,
      boot,
      priority: 5,
      disks: [{ target: 'vda', pool: 'default', volume: 'db-vda.qcow2' }],
    }),
  );
  await define(
    a,
    kernelVm('old', {
      memoryMiB: 64,
      boot,
      disks: [{ target: 'vda', pool: 'default', volume: 'old-vda.qcow2' }],
    }),
  );
  await define(a, kernelVm('odd', { memoryMiB: 64, boot, cpuModel: 'NoSuchCpu-v9' }));
  // `b` already has a VM named `web`: web can only go to `c`.
  await define(b, kernelVm('web', { memoryMiB: 64, boot }));
  for (const vm of ['web', 'db']) {
    const res = await a.api('POST', `/v1/vms/${vm}/start`, {});
    expect(res.status, res.text).toBe(200);
  }
  url = await a.listen();
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.splice(0).map((t) => t.close()));
  await fake?.remove();
});

const planOf = async (query = '') => {
  const res = await a.api('GET', `/v1/host/drain-plan${query}`);
  expect(res.status, res.text).toBe(200);
  return DrainPlan.parse(res.body);
};

describe('GET /v1/host/drain-plan', () => {
  it('plans each VM of the host from its own facts and its peers', async () => {
    const plan = await planOf();
    expect(plan.host).toBe('a');
    const moves = Object.fromEntries(plan.moves.map((m) => [m.vm, m]));
    expect(moves.web).toMatchObject({ to: 'c', mode: 'live-shared', diskBytes: 0, candidates: 1 });
    expect(moves.db).toMatchObject({ mode: 'live-copy', memoryBytes: 96 * 1024 * 1024 });
    expect(moves.db!.diskBytes).toBeGreaterThan(0);
    expect(moves.old).toMatchObject({ mode: 'offline', predictedPauseMs: 0 });
    // Its spec's priority puts the biggest move first; the others go smallest first.
    expect(plan.moves.map((m) => [m.vm, m.priority])).toEqual([
      ['db', 5],
      ['old', 0],
      ['web', 0],
    ]);
    // The two running VMs go to different hosts: spread, not first fit.
    expect(new Set([moves.db!.to, moves.old!.to, moves.web!.to]).size).toBe(2);
    expect(plan.unplaceable).toEqual([
      expect.objectContaining({
        vm: 'odd',
        refusals: { 'cpu-model': 2 },
        reason: expect.stringContaining('lack CPU model `NoSuchCpu-v9`'),
      }),
    ]);
    expect(plan.skippedHosts).toEqual([
      { host: 'd', reason: expect.stringMatching(/peer `d` did not answer: .*ECONNREFUSED/) },
    ]);
    expect(plan.targets.map((t) => t.host).sort()).toEqual(['b', 'c']);
    expect(plan.total).toMatchObject({ vms: 4, moves: 3, unplaceable: 1 });
    expect(plan.total.seconds).toBeGreaterThan(0);
    expect(plan.model).toContain('1000 Mbit/s');
  });

  it('takes only the hosts named in `to`, and says why a VM fits none of them', async () => {
    const plan = await planOf('?to=b&linkMbps=100&maxPerHost=1');
    expect(plan.targets.map((t) => t.host)).toEqual(['b']);
    expect(plan.moves.every((m) => m.to === 'b')).toBe(true);
    expect(plan.limits.maxPerHost).toBe(1);
    expect(plan.total.maxConcurrent).toBe(1);
    expect(plan.model).toContain('100 Mbit/s');
    const web = plan.unplaceable.find((u) => u.vm === 'web');
    expect(web).toMatchObject({
      refusals: { 'name-taken': 1 },
      reason: expect.stringContaining('a VM named `web`'),
    });
  });

  it('refuses a target that is not a peer, naming the peers', async () => {
    const res = await a.api('GET', '/v1/host/drain-plan?to=b,zz');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({
      code: 'VMHOP_ERR_PEER_UNKNOWN',
      message: expect.stringContaining('`zz`'),
    });
  });

  it('refuses malformed limits', async () => {
    const res = await a.api('GET', '/v1/host/drain-plan?maxPerLink=0');
    expect(res.status).toBe(400);
  });
});

describe('vmhop host drain', () => {
  it('prints the plan with --dry-run (--json: the API document)', async () => {
    const json = await runVmhop('--json', '--token', TOKEN, 'host', 'drain', url, '--dry-run', '--to', 'b,c');
    expect(json.exitCode ?? 0, json.stdout).toBe(0);
    const plan = DrainPlan.parse(JSON.parse(json.stdout));
    expect(plan.moves.map((m) => m.vm).sort()).toEqual(['db', 'old', 'web']);
    const human = await runVmhop('--token', TOKEN, 'host', 'drain', url, '--dry-run');
    expect(human.stdout).toMatch(/^drain plan of a: 4 VMs, 3 to move, 1 cannot move/);
    expect(human.stdout).toMatch(/#\s+VM\s+TO\s+MODE/);
    expect(human.stdout).toMatch(/\n1\s+\S+\s+[bc]\s+/);
    expect(human.stdout).toMatch(/cannot move:\nVM\s+REASON\n-+\s+-+\nodd\s+no host can take it/);
    expect(human.stdout).toMatch(/hosts left out:\nHOST\s+WHY\n-+\s+-+\nd\s+peer `d` did not answer/);
  });

  it('refuses a bad limit by name before asking an agent', async () => {
    const r = await runVmhop(
      '--json',
      'host',
      'drain',
      'http://127.0.0.1:9',
      '--dry-run',
      '--max-per-link',
      '0',
    );
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout).error.message).toContain("--max-per-link '0'");
  });
});
