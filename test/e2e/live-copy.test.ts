// Live migration with local storage on the test bed, driven through the CLI: a 1 GiB disk
// holding ~100 MiB is mirrored over NBD while the guest's disk writer runs, there and back
// (once in write-blocking mode), and the failure matrix during the disk copy (target QEMU
// killed, link cut, cancel). After every case: the VM runs on exactly one host, the guest is
// intact where it runs (same boot, no oops for 10 s, heartbeat, every block acked before the
// move), and nothing of a failed job is left on the target.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as testbed from '../../src/testbed/testbed.js';
import { guestCommand, waitForGuest } from '../../src/testbed/client.js';
import { expectGuestIntact, snapshotGuest, type GuestSnapshot } from '../../src/testbed/integrity.js';
import { expectIntactOn } from './helpers/intact-on.js';
import { isAlive } from '../../src/agent/process/signals.js';
import { HOST_DATA_DIR, type HostPlan } from '../../src/testbed/plan.js';
import type { JobInfo } from '../../src/protocol/migration.js';
import type { VolumeInfo } from '../../src/protocol/storage.js';
import { QmpSession, queryBlockJobs, queryNamedBlockNodes } from '../../src/qmp/index.js';
import { removeVmEverywhere, vmhop, vmhopOk, vmStates } from './helpers/cli.js';
import { startSampler } from './helpers/run-sampler.js';
import { waitFor } from './helpers/wait-for.js';

interface Vm {
  name: string;
  state: string;
  pid: number | null;
}
const VM = 'cp1';
const IP = '10.77.0.41';
const VOL = `default/${VM}-vda.qcow2`;
const MiB = 1024 * 1024;
let hosts: HostPlan[];

const status = async () => (await guestCommand(IP, 'status')) as { tick: number; disk: { ack: number } };
const hasVolume = async (host: string) => (await vmhop(['-c', host, 'vol-info', VOL])).exitCode === 0;
/** Bytes host `h` sent on the migration link (the root end of its veth receives them). */
const linkBytes = (h: HostPlan) =>
  Number(readFileSync(`/sys/class/net/${h.ports.migration}/statistics/rx_bytes`, 'utf8'));

async function expectRunsOnlyOn(host: string) {
  const other = host === 'a' ? 'b' : 'a';
  // The job ends once the target runs the VM; the source's retirement follows in the background.
  await waitFor(async () => (await vmStates(VM))[other] === undefined, 15_000).catch(() => undefined);
  const w = await vmStates(VM);
  expect(w[host]).toBe('running');
  expect(w[other]).toBeUndefined();
  const otherJobs = (await vmhopOk<{ jobs: JobInfo[] }>(['-c', other, 'job', 'list'])).jobs;
  expect(otherJobs.filter((j) => j.state === 'running')).toEqual([]);
}

const intactOn = (host: string, before: GuestSnapshot, resumedAt?: number) =>
  expectIntactOn({ ip: IP, vm: VM }, host, before, resumedAt);

beforeAll(async () => {
  hosts = [await testbed.hostOf('a'), await testbed.hostOf('b')];
  await vmhopOk([
    '-c',
    'a',
    'create',
    VM,
    '--test-guest',
    '--ip',
    IP,
    '--memory',
    '256',
    '--disk',
    '1G',
    '--disk-writer',
  ]);
  // ~100 MiB of data on the 1 GiB disk before the guest boots; its writer starts at offset 0.
  const path = (await vmhopOk<VolumeInfo>(['-c', 'a', 'vol-info', VOL])).path;
  const hostPath = hosts[0]!.backingData + path.slice(HOST_DATA_DIR.length);
  await execa('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 100M', hostPath]);
  await vmhopOk(['-c', 'a', 'start', VM]);
  expect((await waitForGuest(IP, 90_000)).ok).toBe(true);
});

afterEach(async () => {
  await testbed.link('migration', 'up');
});

afterAll(async () => {
  await removeVmEverywhere(VM, [
    { host: 'a', volume: VOL },
    { host: 'b', volume: VOL },
  ]);
});

async function migrate(from: string, to: string, extra: string[] = []) {
  return vmhop<JobInfo & { error?: { code: string; message: string } }>(
    ['-c', from, 'migrate', VM, '--to', to, '--live', '--copy-storage', 'all', ...extra],
    300_000,
  );
}

/** Waits until the job on `host` copies disks and has moved some bytes; returns the target QEMU's pid. */
async function duringDiskCopy(host: string, target: string): Promise<number> {
  await waitFor(async () => {
    const p = (await vmhopOk<{ job: JobInfo | null }>(['-c', host, 'domjobinfo', VM])).job?.progress;
    return p?.stage === 'disks' && (p.disks[0]?.doneBytes ?? 0) > 0;
  });
  return waitFor(
    async () =>
      (await vmhopOk<{ vms: Vm[] }>(['-c', target, 'list'])).vms.find((v) => v.name === VM)?.pid ?? undefined,
  );
}

/** The source QEMU's mirror jobs and NBD client nodes, seen through the observer monitor. */
async function sourceLeftovers(): Promise<string[]> {
  const qmp = await QmpSession.connect(`${hosts[0]!.backingRun}/vms/${VM}/observer.sock`, {
    timeoutMs: 2_000,
  });
  try {
    const jobs = (await queryBlockJobs(qmp)).map((j) => j.device);
    const nodes = (await queryNamedBlockNodes(qmp, { flat: true }))
      .map((n) => n['node-name'] ?? '')
      .filter((n) => n.startsWith('nbd-'));
    return [...jobs, ...nodes];
  } finally {
    await qmp.close();
  }
}

/** Samples, for `ms` after the cut, whether the source QEMU's monitor and the guest's service answer. */
async function probeSourceFor(ms: number): Promise<string[]> {
  const out: string[] = [];
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const at = Date.now() - t0;
    const qmp = await QmpSession.connect(`${hosts[0]!.backingRun}/vms/${VM}/observer.sock`, {
      timeoutMs: 1_000,
    })
      .then(async (q) => {
        try {
          await queryBlockJobs(q, { timeoutMs: 1_000 });
          return 'ok';
        } finally {
          await q.close();
        }
      })
      .catch((e: unknown) => `qmp-fail(${(e as Error).message.slice(0, 40)})`);
    const guest = await guestCommand(IP, 'status', 1_000)
      .then((g) => `ack=${(g as { disk: { ack: number } }).disk.ack}`)
      .catch(() => 'guest-fail');
    out.push(`${at}ms:${qmp}/${guest}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  return out;
}

async function expectNothingOnB(qemuPid: number) {
  await waitFor(async () => (await vmStates(VM)).b === undefined && !(await hasVolume('b')), 60_000);
  await expectRunsOnlyOn('a');
  expect(isAlive(qemuPid)).toBe(false);
  expect(await hasVolume('a')).toBe(true);
}

describe('live migration with local storage (NBD + mirror)', () => {
  it('copies a 1 GiB disk holding ~100 MiB to b while the guest writes: every acked block arrives', async () => {
    const before = await snapshotGuest(IP);
    const sampler = startSampler(hosts, VM);
    const sent0 = linkBytes(hosts[0]!);
    const job = await migrate('a', 'b');
    const sent = linkBytes(hosts[0]!) - sent0;
    const s = await sampler.stop();
    expect(job.json.state).toBe('completed');
    const r = job.json.report!;
    console.log(
      `live-copy a->b: ${r.totalMs} ms, downtime ${r.downtimeMs} ms, diskBytes ${JSON.stringify(r.diskBytes)}, ` +
        `ram ${r.ramBytes}, link bytes ${sent}; notes: ${r.notes.join(' | ')}`,
    );
    expect(r.diskBytes?.vda).toBeGreaterThan(95 * MiB);
    expect(r.diskBytes?.vda).toBeLessThan(300 * MiB);
    // Everything the source sent on the link (disk, RAM, TLS): nowhere near the 1 GiB disk.
    expect(sent).toBeLessThan(600 * MiB);
    expect(r.notes.join(' ')).toMatch(/copy mode background/);
    expect(s.bothRunning).toBe(0);
    await expectRunsOnlyOn('b');
    expect(await hasVolume('b')).toBe(true);
    expect(await hasVolume('a')).toBe(true); // kept by default
    const after = await status();
    expect(after.disk.ack).toBeGreaterThan(before.diskAck);
    await intactOn('b', before, r.resumedAt);
  });

  it('moves it back with --delete-source, choosing write-blocking for a guest writing near the link rate', async () => {
    await vmhopOk(['-c', 'a', 'vol-delete', VOL]); // the copy kept on a by the first move
    await guestCommand(IP, 'disk-stop');
    await guestCommand(IP, 'disk-start /dev/vda 3072');
    const before = await snapshotGuest(IP);
    let resumedAt;
    try {
      const job = await migrate('b', 'a', ['--delete-source', '--bandwidth', '4']);
      expect(job.json.state).toBe('completed');
      const r = job.json.report!;
      resumedAt = r.resumedAt;
      console.log(
        `live-copy b->a (write-blocking case): ${r.totalMs} ms, diskBytes ${JSON.stringify(r.diskBytes)}; notes: ${r.notes.join(' | ')}`,
      );
      expect(r.notes.join(' ')).toMatch(/copy mode write-blocking: guest writes/);
      await expectRunsOnlyOn('a');
      expect(await hasVolume('b')).toBe(false);
      expect(await hasVolume('a')).toBe(true);
    } finally {
      await guestCommand(IP, 'disk-stop');
      await guestCommand(IP, 'disk-start /dev/vda 512');
    }
    await intactOn('a', before, resumedAt);
  });

  it('keeps the source running with its disk when the target QEMU is killed during the disk copy', async () => {
    const before = await snapshotGuest(IP);
    const run = migrate('a', 'b', ['--bandwidth', '2']);
    const pid = await duringDiskCopy('a', 'b');
    process.kill(pid, 'SIGKILL');
    const r = await run;
    expect(r.exitCode).toBe(1);
    expect(r.json).toMatchObject({ error: { code: 'VMHOP_ERR_MIGRATION_FAILED' } });
    await expectNothingOnB(pid);
    await intactOn('a', before);
  });

  it('cancels on its own when the link is cut during the disk copy, and the guest disk never hangs', async () => {
    const before = await snapshotGuest(IP);
    const run = migrate('a', 'b', ['--bandwidth', '2', '--stall-timeout', '3']);
    const pid = await duringDiskCopy('a', 'b');
    const ack0 = (await status()).disk.ack;
    const cutAt = Date.now();
    await testbed.link('migration', 'down');
    const probes = await probeSourceFor(5_000);
    console.log(`probes right after the cut: ${probes.join(' ')}`);
    const ackDuringCut = (await status()).disk.ack;
    const r = await run;
    const detectedMs = Date.now() - cutAt;
    expect(r.json).toMatchObject({ error: { code: 'VMHOP_ERR_MIGRATION_FAILED' } });
    expect(JSON.stringify(r.json)).toMatch(/no disk copy progress/);
    const ack1 = (await status()).disk.ack;
    await new Promise((r2) => setTimeout(r2, 2_000));
    const ack2 = (await status()).disk.ack;
    console.log(
      `link cut during the disk copy: job ended after ${detectedMs} ms (stall timeout 3 s); guest acks ${ack0} -> ${ackDuringCut} during the cut, ${ack1} -> ${ack2} after the job ended (link still down); probes during the cut: ${probes.join(' ')}`,
    );
    expect(ackDuringCut).toBeGreaterThan(ack0);
    expect(ack2).toBeGreaterThan(ack1);
    await expectNothingOnB(pid);
    // The rollback closed the NBD connection itself (ss -K): nothing waits for TCP to give up.
    expect(await sourceLeftovers()).toEqual([]);
    await testbed.link('migration', 'up');
    await intactOn('a', before);
  });

  it('cancels during the disk copy (domjobabort): source intact, nothing left on b or in the source QEMU', async () => {
    const before = await snapshotGuest(IP);
    const run = migrate('a', 'b', ['--bandwidth', '2']);
    const pid = await duringDiskCopy('a', 'b');
    await vmhopOk(['-c', 'a', 'domjobabort', VM]);
    const r = await run;
    expect(r.json).toMatchObject({ error: { code: 'VMHOP_ERR_MIGRATION_CANCELLED' } });
    await expectNothingOnB(pid);
    expect(await sourceLeftovers()).toEqual([]);
    await intactOn('a', before);
  });
});

describe('incremental live migration (--copy-storage inc) over a base on both hosts', () => {
  const INC = 'inc1';
  const INC_IP = '10.77.0.42';
  const BASE = 'default/inc-base.qcow2';
  const OVERLAY = `default/${INC}-vda.qcow2`;
  const hostPath = async (h: number, vol: string) =>
    hosts[h]!.backingData +
    (await vmhopOk<VolumeInfo>(['-c', hosts[h]!.name, 'vol-info', vol])).path.slice(HOST_DATA_DIR.length);

  beforeAll(async () => {
    // The first VM's guest is done: two TCG guests plus a target QEMU would starve the cores.
    await vmhop(['-c', 'a', 'destroy', VM]);
    for (const h of [0, 1]) {
      await vmhopOk(['-c', hosts[h]!.name, 'vol-create', 'default', 'inc-base.qcow2', '256M']);
      await execa('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xcd 0 64M', await hostPath(h, BASE)]);
    }
    await vmhopOk([
      '-c',
      'a',
      'create',
      INC,
      '--test-guest',
      '--ip',
      INC_IP,
      '--disk',
      '256M',
      '--disk-writer',
    ]);
    // Turn the VM's fresh volume into an overlay on the base (-u: the base path is the host's own).
    const base = (await vmhopOk<VolumeInfo>(['-c', 'a', 'vol-info', BASE])).path;
    await execa('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-u',
      '-b',
      base,
      '-F',
      'qcow2',
      await hostPath(0, OVERLAY),
      '256M',
    ]);
    await vmhopOk(['-c', 'a', 'start', INC]);
    expect((await waitForGuest(INC_IP, 90_000)).ok).toBe(true);
  });

  afterAll(async () => {
    for (const h of ['a', 'b']) {
      await vmhop(['-c', h, 'destroy', INC]);
      await vmhop(['-c', h, 'undefine', INC]);
      await vmhop(['-c', h, 'vol-delete', OVERLAY]);
      await vmhop(['-c', h, 'vol-delete', BASE]);
    }
  });

  it('refuses in the pre-flight when the base is missing on the target, naming vmhop vol-copy', async () => {
    await vmhopOk(['-c', 'b', 'vol-delete', BASE]);
    try {
      const r = await vmhopOk<{ preflight: { name: string; ok: boolean; fix?: string }[] }>([
        '-c',
        'a',
        'migrate',
        INC,
        '--to',
        'b',
        '--live',
        '--copy-storage',
        'inc',
        '--dry-run',
      ]);
      expect(r.preflight.find((c) => c.name === 'base-vda')).toMatchObject({
        ok: false,
        fix: expect.stringMatching(/vmhop .*vol-copy/),
      });
    } finally {
      await vmhopOk(['-c', 'b', 'vol-create', 'default', 'inc-base.qcow2', '256M']);
      await execa('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xcd 0 64M', await hostPath(1, BASE)]);
    }
  });

  it('sends only the overlay, and the guest finds every acked block on b', async () => {
    const before = await snapshotGuest(INC_IP);
    const job = await vmhop<JobInfo>(
      ['-c', 'a', 'migrate', INC, '--to', 'b', '--live', '--copy-storage', 'inc'],
      300_000,
    );
    expect(job.json.state).toBe('completed');
    const r = job.json.report!;
    console.log(
      `incremental a->b: ${r.totalMs} ms, diskBytes ${JSON.stringify(r.diskBytes)}; notes: ${r.notes.join(' | ')}`,
    );
    expect(r.diskBytes?.vda).toBeLessThan(32 * MiB); // the 64 MiB base stayed where it was
    const target = await vmhopOk<VolumeInfo>(['-c', 'b', 'vol-info', OVERLAY]);
    expect(target.backingChain[0]?.path).toMatch(/inc-base\.qcow2$/);
    await expectGuestIntact({ ip: INC_IP, before, targetHost: 'b', vm: INC, switchoverAt: r.resumedAt });
  });
});
