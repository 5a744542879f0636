// Offline (static) migration on the test bed, driven through the CLI: a 1 GiB qcow2 holding
// about 100 MiB moves about 100 MiB; a cut link leaves the job interrupted and migrate again
// resumes it; cancel leaves the source as it was and nothing on the target; a too small
// target pool is refused before a byte moves; a shared pool moves only the definition;
// --keep-state moves a running guest whose heartbeat continues, intact (same boot, no oops for
// 10 s, every block acked before the move). After every case the VM is defined (or runs) on
// exactly one host and no partial file is left.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as testbed from '../../src/testbed/testbed.js';
import { runOnHost } from '../../src/testbed/host-exec.js';
import { guestCommand, waitForGuest } from '../../src/testbed/client.js';
import { expectGuestIntact, snapshotGuest } from '../../src/testbed/integrity.js';
import type { HostPlan } from '../../src/testbed/plan.js';
import type { JobInfo } from '../../src/protocol/migration.js';
import { vmhop, vmhopOk } from './helpers/cli.js';
import { waitFor as waitForWithin } from './helpers/wait-for.js';

/** Offline copies on a shaped link take longer: two minutes unless a test says. */
const waitFor = <T>(fn: () => Promise<T | undefined | false>, timeoutMs = 120_000) =>
  waitForWithin(fn, timeoutMs);

interface Vm {
  name: string;
  state: string;
}
type JobOut = JobInfo & { error?: { code: string; message: string } };
const MIB = 1024 * 1024;
const VM = 'off1';
const POOL_DIR = '/var/lib/vmhop/pools/default';
const VOL = `${VM}-vda.qcow2`;
const hosts: Record<string, HostPlan> = {};

const sh = async (h: string, cmd: string, allowFail = false) =>
  (await runOnHost(hosts[h]!, ['sh', '-c', cmd], { allowFail, timeoutMs: 120_000 })).stdout.trim();
const sha = (h: string, path: string) => sh(h, `sha256sum ${path} | cut -d' ' -f1`);
const partials = (h: string, dir = POOL_DIR) => sh(h, `ls -a ${dir} | grep vmhop-partial || true`);

async function where(vm: string) {
  const out: Record<string, string> = {};
  for (const h of ['a', 'b']) {
    const v = (await vmhopOk<{ vms: Vm[] }>(['-c', h, 'list'])).vms.find((x) => x.name === vm);
    if (v) out[h] = v.state;
  }
  return out;
}

/** Defined (in `state`) on `host` only, no running job on either host, no partial file. */
async function expectOnlyOn(vm: string, host: string, state: string) {
  expect(await where(vm)).toEqual({ [host]: state });
  for (const h of ['a', 'b']) {
    const jobs = (await vmhopOk<{ jobs: JobInfo[] }>(['-c', h, 'job', 'list'])).jobs;
    expect(jobs.filter((j) => j.state === 'running')).toEqual([]);
    expect(await partials(h)).toBe('');
  }
}

const migrate = (vm: string, from: string, to: string, extra: string[] = []) =>
  vmhop<JobOut>(['-c', from, 'migrate', vm, '--to', to, '--offline', ...extra], 600_000);

/** The running job of `vm` on `host` once it has copied at least `bytes`. */
const copiedAtLeast = (vm: string, host: string, bytes: number) =>
  waitFor(async () => {
    const j = (await vmhopOk<{ job: JobInfo | null }>(['-c', host, 'domjobinfo', vm])).job;
    const done = (j?.progress?.disks ?? []).reduce((s, d) => s + d.doneBytes, 0);
    return j?.state === 'running' && done >= bytes ? j : undefined;
  });

beforeAll(async () => {
  hosts.a = await testbed.hostOf('a');
  hosts.b = await testbed.hostOf('b');
  await vmhopOk(['-c', 'a', 'create', VM, '--test-guest', '--disk', '1G', '--memory', '128']);
  // About 100 MiB of data in a 1 GiB qcow2: what has to cross, against what must not.
  await sh('a', `qemu-io -f qcow2 -c 'write -P 0xab 0 60M' -c 'write -P 0xcd 512M 40M' ${POOL_DIR}/${VOL}`);
});

afterEach(async () => {
  await testbed.link('migration', 'up');
  await testbed.shape({});
});

afterAll(async () => {
  if (process.env.VMHOP_KEEP_AGENT_LOGS) {
    for (const h of ['a', 'b']) await testbed.hostOf(h).then(() => undefined);
    await import('node:child_process').then((cp) =>
      cp.execSync(
        'for h in a b; do cp /run/vmhop-testbed/hosts/$h/run/agent.log /tmp/offline-agent-$h.log; done',
      ),
    );
  }
  for (const vm of [VM, 'sh1', 'ks1'])
    for (const h of ['a', 'b']) {
      await vmhop(['-c', h, 'destroy', vm]);
      await vmhop(['-c', h, 'undefine', vm]);
    }
  for (const h of ['a', 'b']) {
    await vmhop(['-c', h, 'vol-delete', `default/${VOL}`]);
    await vmhop(['-c', h, 'vol-delete', `default/ks1-vda.qcow2`]);
  }
  await vmhop(['-c', 'a', 'vol-delete', 'shared/sh1-vda.qcow2']);
});

describe('offline migration of local image files', () => {
  let sourceSha = '';

  it('prints the plan of a dry run (what moves, how many bytes) and moves nothing', async () => {
    sourceSha = await sha('a', `${POOL_DIR}/${VOL}`);
    const r = await vmhopOk<{ preflight: { name: string; ok: boolean; detail: string }[] }>([
      '-c',
      'a',
      'migrate',
      VM,
      '--to',
      'b',
      '--offline',
      '--dry-run',
    ]);
    expect(r.preflight.filter((c) => !c.ok)).toEqual([]);
    const disk = r.preflight.find((c) => c.name === 'disk-vda')!;
    const mib = Number(/([\d.]+) MiB of data to copy/.exec(disk.detail)?.[1]);
    expect(mib).toBeGreaterThan(99);
    expect(mib).toBeLessThan(110);
    expect(r.preflight.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        'target-reachable',
        'name-free',
        'cpu-model',
        'machine-type',
        'target-space-default',
      ]),
    );
    await expectOnlyOn(VM, 'a', 'shutoff');
  });

  it('refuses a target pool that is too small before a byte is copied', async () => {
    await sh('b', 'mkdir -p /var/lib/vmhop/small && mount -t tmpfs -o size=32m tmpfs /var/lib/vmhop/small');
    try {
      await vmhopOk(['-c', 'b', 'pool-define', 'small', '--kind', 'dir', '--path', '/var/lib/vmhop/small']);
      const r = await migrate(VM, 'a', 'b', ['--target-pool', 'small']);
      expect(r.exitCode).not.toBe(0);
      expect(r.json.error?.code).toBe('VMHOP_ERR_MIGRATION_PREFLIGHT');
      expect(r.json.error?.message).toMatch(/target-space-small: .*MiB of data .*MiB free.*--target-pool/);
      expect(
        await sh('b', 'ls -a /var/lib/vmhop/small | grep -v "^\\.\\.\\?$" | grep -v vmhop-pool || true'),
      ).toBe('');
      await expectOnlyOn(VM, 'a', 'shutoff');
    } finally {
      await vmhop(['-c', 'b', 'pool-undefine', 'small', '--force']);
      await sh('b', 'umount /var/lib/vmhop/small; rmdir /var/lib/vmhop/small', true);
    }
  });

  it('cancelled in the middle of a copy: the source is intact, nothing is left on the target', async () => {
    await testbed.shape({ rate: '20mbit' });
    const run = migrate(VM, 'a', 'b');
    const job = await copiedAtLeast(VM, 'a', 8 * MIB);
    await vmhopOk(['-c', 'a', 'job', 'abort', job.id]);
    const r = await run;
    expect(r.json.error?.code ?? r.json.state).toMatch(/CANCELLED|cancelled/);
    await waitFor(async () =>
      (await vmhopOk<{ jobs: JobInfo[] }>(['-c', 'b', 'job', 'list'])).jobs.every(
        (j) => j.state !== 'running',
      ),
    );
    expect(await sha('a', `${POOL_DIR}/${VOL}`)).toBe(sourceSha);
    expect(await sh('b', `ls ${POOL_DIR}`)).not.toContain(VOL);
    await expectOnlyOn(VM, 'a', 'shutoff');
  });

  it('resumes after the link was cut in the middle of a copy, sending little more than the data', async () => {
    await testbed.shape({ rate: '20mbit' });
    const run = migrate(VM, 'a', 'b', ['--delete-source']);
    const job = await copiedAtLeast(VM, 'a', 40 * MIB);
    await testbed.link('migration', 'down');
    const cut = await run;
    expect(cut.exitCode).not.toBe(0);
    expect(cut.json.error?.code).toBe('VMHOP_ERR_MIGRATION_INTERRUPTED');
    expect((await vmhopOk<JobInfo>(['-c', 'a', 'job', 'show', job.id])).state).toBe('interrupted');
    expect(await partials('b')).not.toBe('');
    await testbed.link('migration', 'up');
    await testbed.shape({});
    const t0 = Date.now();
    const again = await migrate(VM, 'a', 'b', ['--delete-source']);
    const ms = Date.now() - t0;
    expect(again.json, again.stderr).toMatchObject({ state: 'completed' });
    expect(again.exitCode).toBe(0);
    expect(again.json.id).toBe(job.id);
    expect(again.json.state).toBe('completed');
    const total = again.json.report?.diskBytes?.[`default/${VOL}`] ?? 0;
    const note = again.json.report?.notes.find((n) => n.startsWith(`default/${VOL}:`));
    console.log(`resume: ${note}; second attempt ${ms} ms`);
    const thisRun = Number(/\(([\d.]+) MiB in this one/.exec(note ?? '')?.[1]) * MIB;
    expect(total).toBeGreaterThan(100 * MIB);
    expect(total).toBeLessThan(100 * MIB + 24 * MIB); // at most a few lost chunks sent twice
    expect(thisRun).toBeLessThan(70 * MIB); // it did not start over
    expect(await sha('b', `${POOL_DIR}/${VOL}`)).toBe(sourceSha);
    expect(await sh('a', `ls ${POOL_DIR}`)).not.toContain(VOL); // --delete-source, after verify
    await expectOnlyOn(VM, 'b', 'shutoff');
  });

  it('moves the 1 GiB qcow2 with about 100 MiB of data as about 100 MiB on the wire', async () => {
    const t0 = Date.now();
    const r = await migrate(VM, 'b', 'a', ['--delete-source']);
    const ms = Date.now() - t0;
    expect(r.exitCode).toBe(0);
    const wire = r.json.report?.diskBytes?.[`default/${VOL}`] ?? 0;
    console.log(
      `1 GiB qcow2, 100 MiB written: ${wire} bytes on the wire (${(wire / MIB).toFixed(1)} MiB) in ${ms} ms`,
    );
    expect(wire).toBeGreaterThan(100 * MIB);
    expect(wire).toBeLessThan(115 * MIB);
    expect(await sha('a', `${POOL_DIR}/${VOL}`)).toBe(sourceSha);
    await expectOnlyOn(VM, 'a', 'shutoff');
  });
});

describe('offline migration over shared storage', () => {
  it('moves only the definition, and --keep-source keeps it marked moved', async () => {
    await vmhopOk([
      '-c',
      'a',
      'create',
      'sh1',
      '--test-guest',
      '--pool',
      'shared',
      '--disk',
      '64M',
      '--memory',
      '128',
    ]);
    const before = await sha('a', '/srv/vmhop-shared/sh1-vda.qcow2');
    const r = await migrate('sh1', 'a', 'b', ['--keep-source']);
    expect(r.exitCode).toBe(0);
    expect(r.json.report?.diskBytes ?? {}).toEqual({});
    expect(r.json.report?.notes.join('\n')).toMatch(/same storage on both hosts.*only the definition moves/);
    expect(await where('sh1')).toEqual({ a: 'moved', b: 'shutoff' });
    expect(await sha('b', '/srv/vmhop-shared/sh1-vda.qcow2')).toBe(before);
    const start = await vmhop(['-c', 'a', 'start', 'sh1']);
    expect(start.exitCode).toBe(4);
    await vmhopOk(['-c', 'a', 'undefine', 'sh1']);
    const back = await migrate('sh1', 'b', 'a');
    expect(back.exitCode).toBe(0);
    await expectOnlyOn('sh1', 'a', 'shutoff');
  });
});

describe('offline migration keeping the running state', () => {
  const IP = '10.77.0.41';
  it('refuses a running VM without --keep-state, naming both choices', async () => {
    await vmhopOk([
      '-c',
      'a',
      'create',
      'ks1',
      '--test-guest',
      '--start',
      '--ip',
      IP,
      '--disk',
      '256M',
      '--disk-writer',
      '--memory',
      '128',
    ]);
    expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
    const r = await migrate('ks1', 'a', 'b');
    expect(r.exitCode).not.toBe(0);
    expect(r.json.error?.message).toMatch(/--keep-state.*vmhop shutdown ks1/);
    expect(await where('ks1')).toEqual({ a: 'running' });
  });

  it('saves the guest, moves state and disk, restores it on b: the heartbeat continues', async () => {
    const before = await snapshotGuest(IP);
    const r = await migrate('ks1', 'a', 'b', ['--keep-state', '--delete-source']);
    expect(r.json, r.stderr).toMatchObject({ state: 'completed' });
    expect(r.json.report?.diskBytes?.state).toBeGreaterThan(0);
    const after = (await guestCommand(IP, 'status')) as {
      tick: number;
      uptime_ms: number;
      disk: { ack: number };
    };
    expect(after.tick).toBeGreaterThan(before.tick);
    expect(after.uptime_ms).toBeGreaterThan(0);
    await waitFor(
      async () => ((await guestCommand(IP, 'status')) as { disk: { ack: number } }).disk.ack > before.diskAck,
    );
    await expectGuestIntact({
      ip: IP,
      before,
      targetHost: 'b',
      vm: 'ks1',
      switchoverAt: r.json.report?.resumedAt ?? Date.now(),
    });
    await expectOnlyOn('ks1', 'b', 'running');
    expect(await sh('a', 'ls /var/lib/vmhop/save 2>/dev/null || true')).toBe('');
  });
});

describe('offline migration of a block device', () => {
  it('dumps the device with zero regions skipped and restores it onto --target-device', async () => {
    const devA = await sh(
      'a',
      'truncate -s 256M /var/lib/vmhop/blkA.img && losetup -f --show /var/lib/vmhop/blkA.img',
    );
    const devB = await sh(
      'b',
      'truncate -s 256M /var/lib/vmhop/blkB.img && losetup -f --show /var/lib/vmhop/blkB.img',
    );
    const volA = devA.replace('/dev/', '');
    try {
      await sh('a', `qemu-io -f raw -c 'write -P 0x5a 0 16M' -c 'write -P 0x33 128M 8M' ${devA}`);
      await vmhopOk(['-c', 'a', 'pool-define', 'blk', '--kind', 'block', '--device', devA]);
      await vmhopOk(['-c', 'b', 'pool-define', 'blk', '--kind', 'block', '--device', devB]);
      await vmhopOk(['-c', 'a', 'create', 'bd1', '--test-guest', '--memory', '128']);
      const info = await vmhopOk<{ spec: { disks: unknown[] } }>(['-c', 'a', 'dominfo', 'bd1']);
      const spec = { ...info.spec, disks: [{ target: 'vda', pool: 'blk', volume: volA, format: 'raw' }] };
      const file = `/tmp/vmhop-offline-bd1-${process.pid}.json`;
      await import('node:fs/promises').then((fs) => fs.writeFile(file, JSON.stringify(spec)));
      await vmhopOk(['-c', 'a', 'undefine', 'bd1']);
      await vmhopOk(['-c', 'a', 'define', file]);
      const r = await migrate('bd1', 'a', 'b', ['--target-device', devB]);
      expect(r.json, r.stderr).toMatchObject({ state: 'completed' });
      const wire = r.json.report?.diskBytes?.[`blk/${volA}`] ?? 0;
      console.log(`block device 256 MiB with 24 MiB written: ${wire} bytes on the wire`);
      expect(wire).toBeGreaterThanOrEqual(24 * MIB);
      expect(wire).toBeLessThan(40 * MIB);
      expect(await sha('b', devB)).toBe(await sha('a', devA));
      const onB = await vmhopOk<{ spec: { disks: { pool: string; volume: string }[] } }>([
        '-c',
        'b',
        'dominfo',
        'bd1',
      ]);
      expect(onB.spec.disks[0]).toMatchObject({ pool: 'blk', volume: devB.replace('/dev/', '') });
      await expectOnlyOn('bd1', 'b', 'shutoff');
      expect(await sh('a', 'ls /var/lib/vmhop/offline 2>/dev/null || true')).toBe('');
    } finally {
      for (const h of ['a', 'b']) {
        await vmhop(['-c', h, 'undefine', 'bd1']);
        await vmhop(['-c', h, 'pool-undefine', 'blk']);
      }
      await sh('a', `losetup -d ${devA}; rm -f /var/lib/vmhop/blkA.img`, true);
      await sh('b', `losetup -d ${devB}; rm -f /var/lib/vmhop/blkB.img`, true);
    }
  });
});

describe('vol-copy and backing chains', () => {
  it('copies an overlay with its base once, and a second overlay without the base the target has', async () => {
    const vol = (v: string) => `${POOL_DIR}/${v}`;
    try {
      await vmhopOk(['-c', 'a', 'vol-create', 'default', 'base1.qcow2', '256M']);
      await sh('a', `qemu-io -f qcow2 -c 'write -P 0x11 0 16M' ${vol('base1.qcow2')}`);
      for (const top of ['top1.qcow2', 'top2.qcow2']) {
        await vmhopOk(['-c', 'a', 'vol-create', 'default', top, '--backing', 'base1.qcow2']);
        await sh('a', `qemu-io -f qcow2 -c 'write -P 0x22 64M 4M' ${vol(top)}`);
      }
      const first = await vmhopOk<JobOut>(
        ['-c', 'a', 'vol-copy', 'default/top1.qcow2', '--to', 'b'],
        300_000,
      );
      expect(first.state).toBe('completed');
      expect(Object.keys(first.report?.diskBytes ?? {}).sort()).toEqual([
        'default/base1.qcow2',
        'default/top1.qcow2',
      ]);
      const second = await vmhopOk<JobOut>(
        ['-c', 'a', 'vol-copy', 'default/top2.qcow2', '--to', 'b'],
        300_000,
      );
      expect(Object.keys(second.report?.diskBytes ?? {})).toEqual(['default/top2.qcow2']);
      expect(second.report?.notes.join('\n')).toMatch(
        /base1.qcow2: an identical copy is on the target already/,
      );
      expect(second.report?.diskBytes?.['default/top2.qcow2']).toBeLessThan(6 * MIB);
      for (const v of ['base1.qcow2', 'top1.qcow2', 'top2.qcow2'])
        expect(await sha('b', vol(v))).toBe(await sha('a', vol(v)));
      expect(
        await sh('b', `qemu-img compare ${vol('top2.qcow2')} ${vol('top1.qcow2')} && echo same`),
      ).toMatch(/same/);
      expect(await partials('b')).toBe('');
    } finally {
      for (const h of ['a', 'b'])
        for (const v of ['top1.qcow2', 'top2.qcow2', 'base1.qcow2'])
          await vmhop(['-c', h, 'vol-delete', `default/${v}`]);
    }
  });
});
