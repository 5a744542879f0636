// The failure matrix's storage cases (issue 13: F8, F15, F16, F12 and F13 in the mirror phase), on two
// engines in one process with real QEMU: a live migration with storage copy (`--copy-storage
// all`) of the 64 MiB test guest whose 64 MiB disk holds 40 MiB of data. Faults: the NBD stream
// going silent (a proxy that stops forwarding without closing), the target pool filling up under
// the copy (a tmpfs), the source disk failing reads (blkdebug), an agent restarted while the mirrors run. Each case checks the oracles:
// never both hosts running, the source runs on, the target keeps nothing of the job, the source
// QEMU keeps no mirror or NBD node, and a migration afterwards succeeds.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobInfo } from '../../src/protocol/migration.js';
import { queryBlockJobs } from '../../src/qmp/index.js';
import type { PrepareReply, PrepareRequest } from '../../src/agent/peers/peer-link.js';
import { BlackholeProxy } from '../integration/helpers/blackhole-proxy.js';
import { FaultyPeerLink } from '../integration/helpers/faulty-peer-link.js';
import { expectTargetClean, watchRunners, whereRuns, within } from '../integration/helpers/pair-oracles.js';
import { TestAgent } from '../integration/helpers/test-agent.js';
import { kernelVm, testGuest } from '../integration/helpers/vm-specs.js';

const guest = testGuest();
const VM = 'v1';
const MiB = 1024 * 1024;
let agents: TestAgent[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(agents.map((x) => x.close()));
  agents = [];
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** a → b whose prepare answer can send the source's NBD connections through a proxy. */
class DetourLink extends FaultyPeerLink {
  detour?: (reply: PrepareReply) => Promise<PrepareReply>;
  override async prepare(req: PrepareRequest): Promise<PrepareReply> {
    const reply = await super.prepare(req);
    return this.detour ? this.detour(reply) : reply;
  }
}

interface Pair {
  a: TestAgent;
  b: TestAgent;
  link: DetourLink;
}

/** Agents a and b, a running v1 with disk vda (64 MiB qcow2, 40 MiB of data written before boot). */
async function pair(): Promise<Pair> {
  const a = await TestAgent.start({ name: 'a' });
  agents.push(a);
  const b = await TestAgent.start({ name: 'b' });
  agents.push(b);
  const link = new DetourLink('b', b.services);
  a.services.attachPeer(link);
  b.services.attachPeer(new FaultyPeerLink('a', a.services));
  const vol = await a.createVolume('v1-vda.qcow2', 64 * MiB);
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x6b 8M 40M', vol.path as string], {
    stdio: 'ignore',
  });
  const spec = kernelVm(VM, {
    disks: [{ target: 'vda', pool: 'default', volume: 'v1-vda.qcow2' }],
    memoryMiB: 64,
    machine: 'pc',
    boot: { kind: 'kernel', kernel: guest!.kernel, initrd: guest!.initrd, cmdline: 'console=ttyS0 quiet' },
  });
  expect((await a.api('POST', '/v1/vms', { spec })).status).toBe(201);
  const started = await a.api('POST', '/v1/vms/v1/start', {});
  expect(started.status, started.text).toBe(200);
  return { a, b, link };
}

async function migrate(
  p: Pair,
  options: Record<string, unknown> = {},
  during?: (jobId: string) => Promise<void>,
): Promise<JobInfo> {
  const res = await p.a.api('POST', '/v1/migrations', {
    vm: VM,
    to: 'b',
    mode: 'live-shared',
    options: { insecure: true, copyStorage: 'all', stallTimeoutMs: 4_000, ...options },
  });
  expect(res.status, res.text).toBe(202);
  const id = res.body.job.id as string;
  await during?.(id);
  return p.a.services.engine.wait(id).catch(() => p.a.services.engine.info(id));
}

/** The source after a failed job: the VM runs there, its QEMU keeps no block job, the disk is intact. */
async function expectSourceWhole(p: Pair): Promise<void> {
  expect(await whereRuns(p.a, p.b, VM)).toBe('a');
  const qmp = p.a.services.supervisor.qmpOf(VM)!;
  expect(await queryBlockJobs(qmp), 'block jobs left on the source').toEqual([]);
  const nodes = (await qmp.execute<{ 'node-name': string }[]>('query-named-block-nodes', { flat: true })).map(
    (n) => n['node-name'],
  );
  expect(
    nodes.filter((n) => /nbd|mirror|target/i.test(n)),
    'NBD or mirror nodes left on the source',
  ).toEqual([]);
}

/** The disk volume is gone from every pool of b. */
async function expectNoVolumeOn(b: TestAgent, pool = 'default'): Promise<void> {
  const vols = await b.api('GET', `/v1/pools/${pool}/volumes`);
  expect(vols.body.volumes.map((v: { name: string }) => v.name)).not.toContain('v1-vda.qcow2');
}

/** A migration afterwards, without faults, succeeds: nothing the case left stands in its way. */
async function expectNextMigrationWorks(p: Pair): Promise<void> {
  p.link.heal();
  delete p.link.detour;
  const next = await migrate(p, { stallTimeoutMs: 30_000 });
  expect(next.state, JSON.stringify(next.report?.error)).toBe('completed');
  expect(await whereRuns(p.a, p.b, VM)).toBe('b');
}

describe.skipIf(!guest)('the failure matrix, storage copy, on two engines', () => {
  it('F8 NBD stream silently dropped during the mirror: the job ends by the stall timeout, source running, target clean', async () => {
    const p = await pair();
    let proxy: BlackholeProxy | undefined;
    p.link.detour = async (reply) => {
      proxy = await BlackholeProxy.start({ host: reply.address, port: reply.nbd!.port }, 2 * MiB);
      cleanups.push(() => proxy!.close());
      return { ...reply, nbd: { ...reply.nbd!, port: proxy.port } };
    };
    const watch = watchRunners(p.a, p.b, VM);
    const t0 = Date.now();
    const job = await migrate(p);
    const tookMs = Date.now() - t0;
    expect(proxy?.isSilent, 'the NBD stream went silent').toBe(true);
    expect(job.state).toBe('failed');
    // QEMU 10.0.2's monitor itself stops answering while an NBD request waits on the silent link.
    expect(job.report?.error?.message).toMatch(
      /no disk copy progress for \d+ s \(stall timeout 4 s\)|QEMU did not answer for 4 s \(stall timeout\) during the disk copy/,
    );
    expect((await watch.stop()).both).toBe(0);
    await expectSourceWhole(p);
    await expectTargetClean(p.b, job.id, VM);
    await expectNoVolumeOn(p.b);
    console.log(`F8: failed after ${tookMs} ms with the stall timeout at 4 s: ${job.report?.error?.message}`);
    await expectNextMigrationWorks(p);
  });

  it('F15 target pool filled up under the copy (ENOSPC): clean failure naming the disk, partial volume removed', async () => {
    const p = await pair();
    const mnt = await mkdtemp(join(tmpdir(), 'vmhop-small-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=80m', 'tmpfs', mnt]);
    cleanups.push(async () => {
      execFileSync('umount', ['-l', mnt]);
      await rm(mnt, { recursive: true, force: true });
    });
    execFileSync('mkdir', [join(mnt, 'pool')]);
    const def = await p.b.api('POST', '/v1/pools', { name: 'small', kind: 'dir', path: join(mnt, 'pool') });
    expect(def.status, def.text).toBe(201);
    // The pre-flight saw 80 MiB free; right after the prepare, another program takes all but 8 MiB.
    p.link.rules = [
      {
        call: 'prepare',
        times: 1,
        fault: {
          kind: 'after',
          run: async () => {
            const fs = statfsSync(mnt);
            const free = fs.bavail * fs.bsize;
            await writeFile(join(mnt, 'other-program.bin'), Buffer.alloc(Math.max(0, free - 8 * MiB), 1));
          },
        },
      },
    ];
    const watch = watchRunners(p.a, p.b, VM);
    const job = await migrate(p, { targetPool: 'small' });
    expect(job.state).toBe('failed');
    expect(job.report?.error?.message).toMatch(/vda/);
    expect(job.report?.error?.message).toMatch(/No space left on device|ENOSPC|space/i);
    expect((await watch.stop()).both).toBe(0);
    await expectSourceWhole(p);
    await expectTargetClean(p.b, job.id, VM);
    expect(await readdir(join(mnt, 'pool'))).not.toContain('v1-vda.qcow2');
    console.log(`F15: ${job.report?.error?.message}`);
    await rm(join(mnt, 'other-program.bin'));
    await expectNextMigrationWorks(p);
  });

  it('F16 read error on the source disk during the copy: clean failure naming the disk and the error, target clean', async () => {
    const p = await pair();
    // The source disk's data reads fail from now on: a blkdebug filter slid under the qcow2
    // node (what a failing sector does to the mirror's reads; the guest does not read its disk).
    const qmp = p.a.services.supervisor.qmpOf(VM)!;
    await qmp.execute('blockdev-add', {
      driver: 'blkdebug',
      'node-name': 'faulty-vda',
      image: 'file-vda',
      'inject-error': [{ event: 'read_aio', errno: 5 }],
    });
    const vol = await p.a.api('GET', '/v1/pools/default/volumes/v1-vda.qcow2');
    await qmp.execute('blockdev-reopen', {
      options: [
        {
          driver: 'qcow2',
          'node-name': 'drive-vda',
          file: 'faulty-vda',
          cache: { direct: true, 'no-flush': false },
          'read-only': false,
          discard: 'unmap',
        },
      ],
    });
    expect(vol.status).toBe(200);
    const watch = watchRunners(p.a, p.b, VM);
    const job = await migrate(p);
    expect(job.state).toBe('failed');
    expect(job.report?.error?.message).toMatch(/vda/);
    expect(job.report?.error?.message).toMatch(/Input\/output error|I\/O error/);
    expect((await watch.stop()).both).toBe(0);
    await expectSourceWhole(p);
    await expectTargetClean(p.b, job.id, VM);
    await expectNoVolumeOn(p.b);
    console.log(`F16: ${job.report?.error?.message}`);
  });

  it('F13 target agent restarted while the mirrors run: the source runs on, the target cleans up', async () => {
    const p = await pair();
    const watch = watchRunners(p.a, p.b, VM);
    const job = await migrate(p, { bandwidthMiBs: 8 }, async (id) => {
      await within(() => p.a.services.jobStore.get(id).phase === 'perform', 20_000, 'mirror started');
      await new Promise((r) => setTimeout(r, 1_000));
      await p.b.restart((s) => s.attachPeer(new FaultyPeerLink('a', p.a.services)));
      p.link.retarget(p.b.services);
    });
    expect(job.state).toBe('failed');
    const ms = await within(async () => (await whereRuns(p.a, p.b, VM)) === 'a', 20_000, 'source runs');
    expect((await watch.stop()).both).toBe(0);
    await within(() => p.b.qemuPids().length === 0, 20_000, 'target QEMU gone');
    await expectSourceWhole(p);
    await expectTargetClean(p.b, job.id, VM);
    await expectNoVolumeOn(p.b);
    console.log(`F13 mirror: ${job.report?.error?.message}; source running ${ms} ms after the job's end`);
    await expectNextMigrationWorks(p);
  });

  it('F12 source agent restarted while the mirrors run: the restarted source ends the mirrors and runs on; the target cleans up', async () => {
    const p = await pair();
    let jobId = '';
    const watch = watchRunners(p.a, p.b, VM);
    await migrate(p, { bandwidthMiBs: 8 }, async (id) => {
      jobId = id;
      await within(() => p.a.services.jobStore.get(id).phase === 'perform', 20_000, 'mirror started');
      await new Promise((r) => setTimeout(r, 1_000));
      await p.a.restart((s) => {
        p.link = new DetourLink('b', p.b.services);
        s.attachPeer(p.link);
      });
    });
    const ms = await within(
      () => p.a.services.jobStore.get(jobId).state !== 'running',
      20_000,
      'the restarted source ends the job',
    );
    const job = p.a.services.engine.info(jobId);
    expect(job.state).not.toBe('completed');
    expect((await watch.stop()).both).toBe(0);
    await within(() => p.b.qemuPids().length === 0, 20_000, 'target QEMU gone');
    await expectSourceWhole(p);
    await expectTargetClean(p.b, jobId, VM);
    await expectNoVolumeOn(p.b);
    console.log(`F12 mirror: ${job.state} ${job.report?.error?.message ?? ''}; reconciled in ${ms} ms`);
    await expectNextMigrationWorks(p);
  });
});
