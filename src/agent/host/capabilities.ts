// What this host's QEMU can do: version, machine types, CPU models, and whether KVM
// works (it does not under nested-less virtualization, where vmhop falls back to TCG).
// Learnt once from a throwaway QEMU (-machine none) over QMP, then cached.
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { QmpSession, queryCpuDefinitions, queryMachines, queryVersion } from '../../qmp/index.js';
import { VmhopError } from '../../protocol/errors.js';

export interface QemuCapabilities {
  qemuVersion: string;
  machines: string[];
  /** Aliases such as `pc` and `q35` mapped to the versioned type they stand for. */
  machineAliases: Record<string, string>;
  cpuModels: string[];
  kvm: boolean;
}

/** KVM works only if /dev/kvm opens and a KVM guest actually starts; a bare file check lies here. */
async function kvmWorks(): Promise<boolean> {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  const r = await execa('qemu-system-x86_64', ['-machine', 'none,accel=kvm', '-nodefaults', '-display', 'none', '-S', '-qmp', 'stdio'], {
    input: '{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
    reject: false,
    timeout: 10_000,
  });
  return r.exitCode === 0 && !/failed to initialize kvm|Could not access KVM/i.test(r.stderr);
}

export async function probeQemu(): Promise<QemuCapabilities> {
  const dir = await mkdtemp(join(tmpdir(), 'vmhop-probe-'));
  const sock = join(dir, 'qmp.sock');
  const child = execa(
    'qemu-system-x86_64',
    ['-machine', 'none', '-accel', 'tcg', '-nodefaults', '-display', 'none', '-S', '-qmp', `unix:${sock},server=on,wait=off`],
    { reject: false, stdin: 'ignore' },
  );
  try {
    const qmp = await QmpSession.connect(sock, { timeoutMs: 10_000 });
    try {
      const v = await queryVersion(qmp);
      const machines = await queryMachines(qmp);
      const cpus = await queryCpuDefinitions(qmp);
      const aliases: Record<string, string> = {};
      for (const m of machines) if (m.alias) aliases[m.alias] = m.name;
      return {
        qemuVersion: `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`,
        machines: machines.map((m) => m.name).sort(),
        machineAliases: aliases,
        cpuModels: cpus.map((c) => c.name).sort(),
        kvm: await kvmWorks(),
      };
    } finally {
      await qmp.close();
    }
  } catch (e) {
    throw new VmhopError('VMHOP_ERR_QEMU_START_FAILED', `cannot probe qemu-system-x86_64: ${(e as Error).message}`, {}, e);
  } finally {
    child.kill('SIGKILL');
    await child;
    await rm(dir, { recursive: true, force: true });
  }
}
