// The agent and the CLI on the test bed, driven from the root namespace as an
// administrator would: create the test guest on host a, run it through its lifecycle,
// save and restore it with its heartbeat continuing, import a libvirt XML and run it, and
// survive a kill -9 of the agent with the VM still running and managed.
import { writeFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import * as testbed from '../../src/testbed/testbed.js';
import { guestCommand, waitForGuest } from '../../src/testbed/client.js';
import { checkGuestIntegrity, expectGuestIntact, snapshotGuest } from '../../src/testbed/integrity.js';
import { isAlive } from '../../src/agent/process/signals.js';
import { vmhop, vmhopOk } from './helpers/cli.js';

interface Vm {
  name: string;
  state: string;
  pid: number | null;
}
const IP = '10.77.0.21';
const state = async (name: string) => (await vmhopOk<Vm>(['-c', 'a', 'dominfo', name])).state;
const tick = async () => (await guestCommand(IP, 'status')) as { tick: number; uptime_ms: number };

afterAll(async () => {
  for (const vm of ['cli1', 'xml1']) {
    await vmhop(['-c', 'a', 'destroy', vm]);
    await vmhop(['-c', 'a', 'undefine', vm]);
  }
});

describe('agent and CLI on host a', () => {
  it('creates the test guest and runs it', async () => {
    const vm = await vmhopOk<Vm>([
      '-c',
      'a',
      'create',
      'cli1',
      '--test-guest',
      '--start',
      '--ip',
      IP,
      '--memory',
      '192',
      '--disk',
      '128M',
    ]);
    expect(vm.state).toBe('running');
    expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
    const list = await vmhopOk<{ vms: Vm[] }>(['-c', 'a', 'list']);
    expect(list.vms.map((v) => [v.name, v.state])).toContainEqual(['cli1', 'running']);
    expect((await vmhopOk<{ vms: Vm[] }>(['-c', 'b', 'list'])).vms).toEqual([]);
  });

  it('suspends and resumes it', async () => {
    expect((await vmhopOk<Vm>(['-c', 'a', 'suspend', 'cli1'])).state).toBe('paused');
    expect(await state('cli1')).toBe('paused');
    expect((await vmhopOk<Vm>(['-c', 'a', 'resume', 'cli1'])).state).toBe('running');
  });

  it('saves and restores it, and its heartbeat continues instead of restarting', async () => {
    const before = await tick();
    const snapshot = await snapshotGuest(IP);
    const saved = await vmhopOk<Vm & { savedBytes: number }>(['-c', 'a', 'save', 'cli1']);
    expect(saved.state).toBe('shutoff');
    expect(saved.savedBytes).toBeGreaterThan(1024 * 1024);
    expect((await vmhopOk<{ savedState: boolean }>(['-c', 'a', 'dominfo', 'cli1'])).savedState).toBe(true);
    expect((await vmhopOk<Vm>(['-c', 'a', 'restore', 'cli1'])).state).toBe('running');
    const after = await tick();
    expect(after.tick).toBeGreaterThanOrEqual(before.tick);
    expect(after.uptime_ms).toBeGreaterThanOrEqual(before.uptime_ms);
    await expectGuestIntact({ ip: IP, before: snapshot, targetHost: 'a', vm: 'cli1' });
  });

  it('the integrity check tells a guest whose memory was damaged, and one that rebooted, from an intact one', async () => {
    await guestCommand(IP, 'mem-start 8 0');
    await guestCommand(IP, 'mem-stop'); // a running writer would heal the page
    const before = await snapshotGuest(IP);
    await guestCommand(IP, 'mem-corrupt 5');
    const damaged = await checkGuestIntegrity({
      ip: IP,
      before,
      targetHost: 'a',
      vm: 'cli1',
      watchMs: 1_000,
    });
    expect(damaged.ok).toBe(false);
    expect(damaged.memBad).toBe(1);
    expect(damaged.failures.join('\n')).toMatch(/mem-verify failed: 1 bad pages \(first \[5\]\)/);
    expect(damaged.sameBoot).toBe(true);

    const beforeReset = await snapshotGuest(IP);
    await vmhopOk(['-c', 'a', 'reboot', 'cli1']);
    expect((await waitForGuest(IP, 60_000)).ok).toBe(true);
    const rebooted = await checkGuestIntegrity({
      ip: IP,
      before: beforeReset,
      targetHost: 'a',
      vm: 'cli1',
      watchMs: 1_000,
    });
    expect(rebooted.ok).toBe(false);
    expect(rebooted.sameBoot).toBe(false);
    expect(rebooted.failures[0]).toMatch(/the guest rebooted: boot id \S+ before the move, \S+/);
    expect(rebooted.summary).toMatch(/^REBOOTED/);
  });

  it('keeps the VM running and managed when the agent is killed and restarted', async () => {
    const pidBefore = (await vmhopOk<Vm>(['-c', 'a', 'dominfo', 'cli1'])).pid as number;
    const agent = (await testbed.status()).hosts.find((h) => h.name === 'a')?.agent;
    process.kill(agent!.pid, 'SIGKILL');
    const down = await vmhop(['-c', 'a', 'list']);
    expect(down.exitCode).toBe(6);
    expect(JSON.stringify(down.json)).toMatch(/VMHOP_ERR_HOST_UNREACHABLE/);
    expect(isAlive(pidBefore)).toBe(true);
    await testbed.up();
    const vm = await vmhopOk<Vm>(['-c', 'a', 'dominfo', 'cli1']);
    expect([vm.state, vm.pid]).toEqual(['running', pidBefore]);
    expect((await vmhopOk<Vm>(['-c', 'a', 'suspend', 'cli1'])).state).toBe('paused');
    expect((await vmhopOk<Vm>(['-c', 'a', 'resume', 'cli1'])).state).toBe('running');
    expect((await tick()).tick).toBeGreaterThan(0);
  });

  it('shuts it down through the ACPI power button: the guest powers off and QEMU exits', async () => {
    const pid = (await vmhopOk<Vm>(['-c', 'a', 'dominfo', 'cli1'])).pid as number;
    expect((await vmhopOk<Vm>(['-c', 'a', 'shutdown', 'cli1', '--timeout', '60'])).state).toBe('shutoff');
    expect(isAlive(pid)).toBe(false);
    expect((await vmhopOk<Vm>(['-c', 'a', 'start', 'cli1'])).state).toBe('running');
  });

  it('destroys it: QEMU is gone and the state is shutoff', async () => {
    const pid = (await vmhopOk<Vm>(['-c', 'a', 'dominfo', 'cli1'])).pid as number;
    expect((await vmhopOk<Vm>(['-c', 'a', 'destroy', 'cli1'])).state).toBe('shutoff');
    expect(isAlive(pid)).toBe(false);
  });

  it('imports a libvirt domain XML and runs it', async () => {
    const a = await testbed.hostOf('a');
    await vmhopOk(['-c', 'a', 'vol-create', 'default', 'xml1.qcow2', '64M']);
    const { guestArtifacts } = await import('../../src/test-guest/spec.js');
    const g = guestArtifacts();
    const xml = `<domain type='kvm'>
  <name>xml1</name>
  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
  <memory unit='KiB'>196608</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type><kernel>${g.kernel}</kernel><initrd>${g.initrd}</initrd><cmdline>console=ttyS0 quiet vmhop.ip=10.77.0.22/24</cmdline></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source file='/var/lib/vmhop/pools/default/xml1.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <interface type='bridge'><mac address='52:54:00:77:00:16'/><source bridge='br0'/><model type='virtio'/></interface>
    <sound model='ich9'/>
  </devices>
</domain>`;
    const file = `${a.backingRun}/xml1.xml`;
    await writeFile(file, xml);
    const imported = await vmhopOk<{ vm: Vm; warnings: string[] }>(['-c', 'a', 'import-xml', file]);
    expect(imported.vm.name).toBe('xml1');
    expect(imported.warnings.join('\n')).toMatch(/TCG/);
    expect(imported.warnings.join('\n')).toMatch(/sound/);
    expect((await vmhopOk<Vm>(['-c', 'a', 'start', 'xml1'])).state).toBe('running');
    expect((await waitForGuest('10.77.0.22', 60_000)).ok).toBe(true);
    const dumped = await vmhopOk<{ xml: string }>(['-c', 'a', 'dumpxml', 'xml1']);
    expect(dumped.xml).toMatch(/<name>xml1<\/name>/);
    expect((await vmhopOk<Vm>(['-c', 'a', 'destroy', 'xml1'])).state).toBe('shutoff');
  });

  it('gives a test guest without --ip the lowest free guest address, and does not start it without --start', async () => {
    const vm = await vmhopOk<Vm & { spec: { boot: { cmdline: string } } }>([
      '-c',
      'a',
      'create',
      'auto1',
      '--test-guest',
    ]);
    expect(vm.state).toBe('shutoff');
    const ip = /vmhop\.ip=([\d.]+)\//.exec(vm.spec.boot.cmdline)?.[1];
    expect(ip).toMatch(/^10\.77\.0\.\d+$/);
    expect(ip).not.toBe(IP);
    await vmhopOk(['-c', 'a', 'undefine', 'auto1']);
  });

  it('refuses bad input with a named error and leaves nothing half-made', async () => {
    const unknown = await vmhop(['-c', 'a', 'start', 'nope']);
    expect(unknown.exitCode).toBe(3);
    expect(JSON.stringify(unknown.json)).toMatch(/VM `nope` not found/);
    const dup = await vmhop([
      '-c',
      'a',
      'create',
      'cli1',
      '--test-guest',
      '--start',
      '--ip',
      '10.77.0.23',
      '--disk',
      '64M',
    ]);
    expect(dup.exitCode).toBe(4);
    const vols = await vmhopOk<{ volumes: { name: string }[] }>(['-c', 'a', 'vol-list', 'default']);
    expect(vols.volumes.map((v) => v.name).filter((n) => n.startsWith('cli1'))).toEqual(['cli1-vda.qcow2']);
    const badToken = await vmhop(['-c', 'a', '--token', 'wrong', 'list']);
    expect(badToken.exitCode).toBe(6);
    expect(JSON.stringify(badToken.json)).toMatch(/VMHOP_ERR_AUTH_INVALID/);
  });
});
