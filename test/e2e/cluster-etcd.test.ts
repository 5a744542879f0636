// Cluster mode on etcd (issue 17 §2), on three test-bed hosts and the test bed's etcd: the agents
// have no peers map and find each other as members in etcd; a VM's owner is its key in etcd, and
// the target's compare-and-swap of that key is the commit point of a migration. A second import
// of the same UUID on another host is refused. Hosts are cut off from etcd (packets vanish) before,
// at and after a commit: a sampler on all three hosts must never see two run the guest, the guest
// must run on exactly one host afterwards, etcd must name that host, and the guest stays intact.
// The file brings its own bed (a, b, c and etcd) and leaves the usual two-host bed behind.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpSession, queryStatus } from '../../src/qmp/index.js';
import { DrainJob, DrainPlan } from '../../src/protocol/drain.js';
import type { HostInfo } from '../../src/protocol/host.js';
import type { JobInfo } from '../../src/protocol/migration.js';
import * as testbed from '../../src/testbed/testbed.js';
import { waitForGuest } from '../../src/testbed/client.js';
import { snapshotGuest } from '../../src/testbed/integrity.js';
import type { HostPlan } from '../../src/testbed/plan.js';
import { readState } from '../../src/testbed/state.js';
import { vmhop, vmhopOk, vmStates } from './helpers/cli.js';
import { expectIntactOn } from './helpers/intact-on.js';
import { startSampler } from './helpers/run-sampler.js';
import { waitFor } from './helpers/wait-for.js';

const HOSTS = ['a', 'b', 'c'];
const VM = 'clu1';
const IP = '10.77.0.52';
const ETCD = 'http://10.99.0.5:2379';
const LOGS = '.cache/test-logs/cluster-etcd';
type Job = JobInfo & { error?: { code: string; message: string } };
type Refusal = { error: { code: string; message: string } };
let plans: HostPlan[];
let uuid: string;

async function etcdGet(key: string): Promise<string> {
  const r = await execa(
    'ip',
    ['netns', 'exec', 'vmhop-etcd', 'etcdctl', '--endpoints', ETCD, 'get', key, '--print-value-only'],
    { timeout: 10_000 },
  );
  return r.stdout.trim();
}

const ownerInEtcd = async (of = uuid) =>
  (JSON.parse((await etcdGet(`/vmhop/v1/vms/${of}/owner`)) || '{}') as { host?: string }).host;

/** The host etcd names the owner of each VM by name (its uuid from the host that has it). */
async function ownersOf(vms: string[]): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const vm of vms) {
    for (const h of HOSTS) {
      const { vms: list } = await vmhopOk<{ vms: { name: string; uuid: string }[] }>(['-c', h, 'list']);
      const v = list.find((x) => x.name === vm);
      if (v) {
        out[vm] = await ownerInEtcd(v.uuid);
        break;
      }
    }
  }
  return out;
}

const inTouch = async (host: string) =>
  (await vmhopOk<HostInfo>(['-c', host, 'host', 'info'])).cluster?.inTouch === true;

/** Runs on `host` only (the others have nothing or a moved record), and etcd names `host`. */
async function expectOnlyOn(host: string) {
  const others = HOSTS.filter((h) => h !== host);
  const retired = async () => {
    const s = await vmStates(VM, HOSTS);
    return others.every((h) => s[h] === undefined || s[h] === 'moved');
  };
  await waitFor(retired, 20_000).catch(() => undefined);
  const s = await vmStates(VM, HOSTS);
  expect(s[host]).toBe('running');
  for (const h of others) expect([undefined, 'moved']).toContain(s[h]);
  expect(await ownerInEtcd()).toBe(host);
  for (const h of HOSTS) {
    const jobs = (await vmhopOk<{ jobs: JobInfo[] }>(['-c', h, 'job', 'list'])).jobs;
    expect(jobs.filter((j) => j.state === 'running')).toEqual([]);
  }
}

/** One live migration under the three-host sampler; `during` runs while it does. */
async function migrate(from: string, to: string, flags: string[], during?: () => Promise<void>) {
  const sampler = startSampler(plans, VM, 10);
  let job;
  try {
    const run = vmhop<Job>(['-c', from, 'migrate', VM, '--to', to, '--live', ...flags], 150_000);
    await during?.();
    job = await run;
    if (job.json.error) console.log(`${from}->${to}: ${job.json.error.code}: ${job.json.error.message}`);
    // A failed migration prints the error document; the job's own state is read from the source.
    if (!job.json.state && job.json.error) {
      const jobs = (await vmhopOk<{ jobs: JobInfo[] }>(['-c', from, 'job', 'list'])).jobs;
      const last = jobs.filter((j) => j.vm === VM).sort((x, y) => (x.createdAt < y.createdAt ? 1 : -1))[0];
      job.json = { ...job.json, ...last, error: job.json.error };
    }
  } finally {
    const s = await sampler.stop();
    console.log(`sampler ${from}->${to}: ${s.samples} samples, both running ${s.bothRunning}`);
    expect(s.bothRunning).toBe(0);
  }
  return job;
}

/** Resolves once the VM's QEMU on `host` stops running its vCPUs (the switchover's pause). */
async function pausedOn(host: string, timeoutMs: number): Promise<number> {
  const h = plans.find((p) => p.name === host)!;
  const qmp = await QmpSession.connect(`${h.backingRun}/vms/${VM}/observer.sock`, { timeoutMs: 2_000 });
  try {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const st = await queryStatus(qmp, { timeoutMs: 1_000 }).catch(() => undefined);
      if (st && !st.running) return Date.now();
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`the source ${host} never paused within ${timeoutMs} ms`);
  } finally {
    await qmp.close();
  }
}

beforeAll(async () => {
  const t0 = Date.now();
  await testbed.down();
  await testbed.up({ hosts: HOSTS, etcd: true });
  plans = testbed.plansFor(HOSTS);
  console.log(`three hosts and etcd up in ${Date.now() - t0} ms`);
  for (const h of HOSTS) await waitFor(() => inTouch(h), 20_000);
  const vm = await vmhopOk<{ state: string; uuid: string }>([
    ...['-c', 'a', 'create', VM, '--test-guest', '--start', '--ip', IP, '--memory', '128'],
    ...['--pool', 'shared', '--disk', '64M', '--disk-writer', '--mem-dirty', '24'],
  ]);
  expect(vm.state).toBe('running');
  uuid = vm.uuid;
  expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
});

afterAll(async () => {
  // The agents' logs outlive the bed (they go with `down`), for a failure's post-mortem.
  await mkdir(LOGS, { recursive: true });
  for (const p of plans ?? [])
    await copyFile(`${p.backingRun}/agent.log`, `${LOGS}/${p.name}.log`).catch(() => undefined);
  // The files after this one expect the usual bed: two hosts in embedded mode.
  for (const h of HOSTS) await testbed.etcdLink(h, 'up').catch(() => undefined);
  await testbed.down();
  await testbed.up({ hosts: ['a', 'b'], etcd: false });
});

describe('cluster mode on etcd, three hosts', () => {
  it('agents find each other in etcd, and the created VM is its host’s there', async () => {
    for (const h of HOSTS) {
      const info = await vmhopOk<HostInfo>(['-c', h, 'host', 'info']);
      expect(info.cluster).toMatchObject({ inTouch: true, members: HOSTS });
    }
    expect(await ownerInEtcd()).toBe('a');
  });

  it('moves the guest a -> b over the shared pool, etcd naming b at the commit; intact', async () => {
    const before = await snapshotGuest(IP);
    const job = await migrate('a', 'b', []);
    expect(job.json.state, JSON.stringify(job.json.error)).toBe('completed');
    const target = await vmhopOk<{ journal: { entry: string }[] }>(['-c', 'b', 'job', 'show', job.json.id]);
    expect(target.journal.map((e) => e.entry)).toContainEqual(
      expect.stringMatching(/etcd names this host the owner/),
    );
    await expectOnlyOn('b');
    await expectIntactOn({ ip: IP, vm: VM }, 'b', before, job.json.report?.resumedAt);
  });

  it('refuses a second import of the same UUID on c, naming the owner b', async () => {
    const { xml } = await vmhopOk<{ xml: string }>(['-c', 'b', 'dumpxml', VM]);
    const file = `/tmp/vmhop-e2e-${VM}.xml`;
    await writeFile(file, xml.replace(`<name>${VM}</name>`, `<name>${VM}-copy</name>`));
    const r = await vmhop<Refusal>(['-c', 'c', 'import-xml', file]);
    expect(r.exitCode).not.toBe(0);
    expect(r.json.error.code).toBe('VMHOP_ERR_VM_OWNED_ELSEWHERE');
    expect(r.json.error.message).toMatch(/belongs to host `b`/);
    expect(await vmStates(`${VM}-copy`, HOSTS)).toEqual({});
  });

  it('before the commit: c, cut from etcd during the RAM copy, refuses the commit; b runs on', async () => {
    const before = await snapshotGuest(IP);
    let cutAt = 0;
    const job = await migrate('b', 'c', ['--bandwidth', '6'], async () => {
      await waitFor(
        async () =>
          (await vmhopOk<{ job: JobInfo | null }>(['-c', 'b', 'domjobinfo', VM])).job?.progress?.stage ===
          'ram',
        60_000,
      );
      await testbed.etcdLink('c', 'down');
      cutAt = Date.now();
      // c notices on its own clock (TTL 5 s - 3 s) while the copy still runs.
      await waitFor(async () => !(await inTouch('c')), 10_000);
      const stage = (await vmhopOk<{ job: JobInfo | null }>(['-c', 'b', 'domjobinfo', VM])).job?.progress
        ?.stage;
      console.log(`c cut off: noticed ${Date.now() - cutAt} ms after the cut, the copy at stage ${stage}`);
    });
    expect(job.json.state).toBe('failed');
    expect(JSON.stringify(job.json)).toMatch(/cut off from etcd/);
    await testbed.etcdLink('c', 'up');
    await expectOnlyOn('b');
    await expectIntactOn({ ip: IP, vm: VM }, 'b', before);
    await waitFor(() => inTouch('c'), 20_000);
  });

  it('at the commit: c is cut the moment b pauses; after etcd is back exactly one host runs the guest', async () => {
    await testbed.etcdLink('c', 'up');
    const back = Date.now();
    await waitFor(() => inTouch('c'), 30_000);
    console.log(`c back in touch ${Date.now() - back} ms after its link`);
    const before = await snapshotGuest(IP);
    let gap = 0;
    const job = await migrate('b', 'c', ['--bandwidth', '20'], async () => {
      const pausedAt = await pausedOn('b', 120_000);
      await testbed.etcdLink('c', 'down');
      gap = Date.now() - pausedAt;
      await new Promise((r) => setTimeout(r, 8_000));
      await testbed.etcdLink('c', 'up');
    });
    const on = job.json.state === 'completed' ? 'c' : 'b';
    const journal = (
      await vmhopOk<{ journal: { entry: string }[] }>(['-c', 'c', 'job', 'show', job.json.id])
    ).journal.map((e) => e.entry);
    console.log(
      `at the commit: cut ${gap} ms after b paused; job ${job.json.state}, guest on ${on}; c's journal: ${journal.slice(-4).join(' | ')}`,
    );
    expect(['completed', 'failed']).toContain(job.json.state);
    await expectOnlyOn(on);
    await expectIntactOn({ ip: IP, vm: VM }, on, before);
  });

  it('etcd lost at the commit (paused the moment the source pauses): the target cannot know, the source stays paused; once etcd is back one host runs the guest', async () => {
    const from = (await ownerInEtcd()) as string;
    const to = HOSTS.find((h) => h !== from && h !== 'a') ?? 'a';
    const pid = (await readState())?.etcd?.pid;
    expect(pid).toBeGreaterThan(0);
    const before = await snapshotGuest(IP);
    let gap = 0;
    const job = await migrate(from, to, ['--bandwidth', '20'], async () => {
      const pausedAt = await pausedOn(from, 120_000);
      process.kill(pid!, 'SIGSTOP');
      gap = Date.now() - pausedAt;
      try {
        await new Promise((r) => setTimeout(r, 8_000));
        // Still paused on the source: nobody guessed the outcome while etcd was away.
        expect((await vmStates(VM, HOSTS))[to]).not.toBe('running');
      } finally {
        process.kill(pid!, 'SIGCONT');
      }
    });
    const on = job.json.state === 'completed' ? to : from;
    const journal = (
      await vmhopOk<{ journal: { entry: string }[] }>(['-c', to, 'job', 'show', job.json.id])
    ).journal.map((e) => e.entry);
    console.log(
      `etcd lost at the commit: paused ${gap} ms after ${from} paused; job ${job.json.state}, guest on ${on}, pause ${job.json.report?.downtimeMs} ms; ${to}'s journal: ${journal.slice(-4).join(' | ')}`,
    );
    expect(journal.join('\n')).toMatch(/commit in etcd not known/);
    expect(['completed', 'failed']).toContain(job.json.state);
    for (const h of HOSTS) await waitFor(() => inTouch(h), 20_000);
    await expectOnlyOn(on);
    await expectIntactOn({ ip: IP, vm: VM }, on, before);
  });

  it('after the commit: the new owner, cut from etcd, keeps the guest running and takes nothing new', async () => {
    const from = (await ownerInEtcd()) as string;
    const to = from === 'b' ? 'a' : 'b';
    const before = await snapshotGuest(IP);
    const job = await migrate(from, to, []);
    expect(job.json.state).toBe('completed');
    await testbed.etcdLink(to, 'down');
    try {
      await waitFor(async () => !(await inTouch(to)), 10_000);
      const create = await vmhop<Refusal>([
        '-c',
        to,
        'create',
        `${VM}-new`,
        '--test-guest',
        '--memory',
        '64',
      ]);
      expect(create.json.error?.code).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE');
      expect(create.json.error.message).toMatch(/keeps its running VMs running/);
      const away = await vmhop<Refusal>(['-c', to, 'migrate', VM, '--to', from, '--live']);
      expect(away.json.error?.code).toBe('VMHOP_ERR_CLUSTER_UNREACHABLE');
      // Cut off past its lease: the guest runs on, nowhere else.
      await new Promise((r) => setTimeout(r, 4_000));
      const s = await vmStates(VM, HOSTS);
      expect(s[to]).toBe('running');
    } finally {
      await testbed.etcdLink(to, 'up');
    }
    await waitFor(() => inTouch(to), 20_000);
    await expectOnlyOn(to);
    await expectIntactOn({ ip: IP, vm: VM }, to, before, job.json.report?.resumedAt);
  });
});

describe('a drain in cluster mode: three VMs of one host to the two others', () => {
  const LOCAL = { name: 'clu2', ip: '10.77.0.53' };
  const OFF = 'clu3';
  let drained: string;
  const guests = [
    { ip: IP, vm: VM },
    { ip: LOCAL.ip, vm: LOCAL.name },
  ];

  beforeAll(async () => {
    // The host that has the guest now (the cases above leave it running on one host).
    drained = (await ownerInEtcd()) as string;
    await vmhopOk([
      ...['-c', drained, 'create', LOCAL.name, '--test-guest', '--start', '--ip', LOCAL.ip],
      ...['--memory', '96', '--disk', '32M', '--disk-writer'],
    ]);
    await vmhopOk(['-c', drained, 'create', OFF, '--test-guest', '--memory', '64', '--disk', '16M']);
    expect((await waitForGuest(LOCAL.ip, 60_000)).ok).toBe(true);
  });

  afterAll(async () => {
    await vmhop(['host', 'undrain', drained]);
  });

  /** Where each of the three VMs runs or is defined now (hosts with a moved record left out). */
  const placement = async () => {
    const out: Record<string, string> = {};
    for (const vm of [VM, LOCAL.name, OFF]) {
      const s = await vmStates(vm, HOSTS);
      out[vm] = Object.entries(s)
        .filter(([, st]) => st !== 'moved')
        .map(([h, st]) => `${h}:${st}`)
        .join(',');
    }
    return out;
  };

  it('moves the guest over the shared pool, the local-disk guest with its disk and the stopped VM; one at a time; each intact', async () => {
    const plan = DrainPlan.parse(await vmhopOk(['host', 'drain', drained, '--dry-run']));
    console.log(
      `plan for ${drained}: ` +
        plan.moves.map((m) => `${m.vm} -> ${m.to} ${m.mode} ~${m.predictedSeconds} s`).join('; ') +
        `; total ~${plan.total.seconds} s`,
    );
    expect(Object.fromEntries(plan.moves.map((m) => [m.vm, m.mode]))).toEqual({
      [VM]: 'live-shared',
      [LOCAL.name]: 'live-copy',
      [OFF]: 'offline',
    });
    const before = await Promise.all(guests.map((g) => snapshotGuest(g.ip)));
    const sampler = startSampler(plans, VM, 20);
    const d = DrainJob.parse(
      await vmhopOk(['host', 'drain', drained, '--max-per-host', '1', '--max-per-link', '1'], 300_000),
    );
    const s = await sampler.stop();
    console.log(
      `drain of ${drained}: ${d.state}, ${d.total.seconds} s, ${d.total.bytes} bytes; ` +
        d.vms
          .map((v) => `${v.vm} -> ${v.to} ${v.mode} ${v.state} ${v.seconds} s pause ${v.pauseMs ?? '-'} ms`)
          .join('; '),
    );
    expect(s.bothRunning).toBe(0);
    expect(d.state).toBe('completed');
    expect(d.vms.map((v) => v.state)).toEqual(['moved', 'moved', 'moved']);
    // One at a time: each move started after the one before it ended.
    const spans = d.vms.map((v) => [Date.parse(v.startedAt!), Date.parse(v.endedAt!)] as const);
    spans.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    const where = Object.fromEntries(d.vms.map((v) => [v.vm, v.to]));
    expect(await placement()).toEqual({
      [VM]: `${where[VM]}:running`,
      [LOCAL.name]: `${where[LOCAL.name]}:running`,
      [OFF]: `${where[OFF]}:shutoff`,
    });
    expect(await ownersOf([VM, LOCAL.name, OFF])).toEqual(where);
    for (const [i, g] of guests.entries()) await expectIntactOn(g, where[g.vm]!, before[i]!);
    for (const vm of [VM, LOCAL.name, OFF]) expect(where[vm]).not.toBe(drained);
  });

  it('the drained host refuses a create until undrain; undrain --return brings the three home, intact', async () => {
    const create = await vmhop<Refusal>(['-c', drained, 'create', 'clu4', '--test-guest', '--memory', '64']);
    expect(create.json.error?.code).toBe('VMHOP_ERR_HOST_MAINTENANCE');
    const before = await Promise.all(guests.map((g) => snapshotGuest(g.ip)));
    const r = await vmhop(['host', 'undrain', drained, '--return'], 300_000);
    expect(r.exitCode, JSON.stringify(r.json)).toBe(0);
    expect(await placement()).toEqual({
      [VM]: `${drained}:running`,
      [LOCAL.name]: `${drained}:running`,
      [OFF]: `${drained}:shutoff`,
    });
    for (const [i, g] of guests.entries()) await expectIntactOn(g, drained, before[i]!);
    expect(await ownersOf([VM, LOCAL.name, OFF])).toEqual({
      [VM]: drained,
      [LOCAL.name]: drained,
      [OFF]: drained,
    });
  });
});
