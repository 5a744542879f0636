// What this host's QEMU can do: version, machine types, CPU models, the migration features of
// its QMP schema, and whether KVM works (it does not under nested-less virtualization, where
// vmhop falls back to TCG). Learnt once at agent start from a throwaway QEMU (-machine none) over
// QMP, then cached. The probe QEMUs are plain child processes (no execa): the probe runs at every
// agent start, and execa would otherwise be loaded by an agent that never runs a tool.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  QmpSession,
  queryCpuDefinitions,
  queryMachines,
  queryMigrateCapabilities,
  queryQmpSchema,
  queryVersion,
} from '../../qmp/index.js';
import type { QemuFeatures } from '../../protocol/host.js';
import { VmhopError } from '../../protocol/errors.js';
import { qemuFeaturesOf } from './qemu-features.js';

export interface QemuCapabilities {
  qemuVersion: string;
  /** The distribution's package version (query-version's `package`); empty for a build from source. */
  qemuPackage: string;
  features: QemuFeatures;
  machines: string[];
  /** Aliases such as `pc` and `q35` mapped to the versioned type they stand for. */
  machineAliases: Record<string, string>;
  cpuModels: string[];
  kvm: boolean;
}

/**
 * A probe QEMU, its output unread. `exited` settles when it has exited or could not start (a
 * missing binary then fails the QMP connect with its own message); it never rejects, and the
 * error listener keeps a spawn failure from being an uncaught `error` event.
 */
function startProbe(binary: string, args: string[]) {
  const child = spawn(binary, args, { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return { child, exited };
}

/**
 * KVM works only if a guest really runs under it: /dev/kvm opens, and even answers QMP, on
 * hosts without working nested virtualization where Linux guests then hang. SeaBIOS booted
 * with KVM must reach "No bootable device" on its debug console within 1.5 s: real KVM takes
 * ~0.2 s, TCG ~0.5 s, and the broken nested KVM seen on the test machines over 3 s.
 */
async function kvmWorks(binary: string, dir: string): Promise<boolean> {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  const log = join(dir, 'seabios.log');
  const { child, exited } = startProbe(binary, [
    '-machine',
    'pc,accel=kvm',
    '-nodefaults',
    '-display',
    'none',
    '-m',
    '32',
    '-debugcon',
    `file:${log}`,
    '-global',
    'isa-debugcon.iobase=0x402',
  ]);
  try {
    for (let i = 0; i < 15; i++) {
      await new Promise((r) => setTimeout(r, 100));
      if (/No bootable device|Booting from/.test(await readFile(log, 'utf8').catch(() => ''))) return true;
      if (child.exitCode !== null) return false;
    }
    return false;
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function probeQemu(binary = 'qemu-system-x86_64'): Promise<QemuCapabilities> {
  const dir = await mkdtemp(join(tmpdir(), 'vmhop-probe-'));
  const sock = join(dir, 'qmp.sock');
  const { child, exited } = startProbe(binary, [
    '-machine',
    'none',
    '-accel',
    'tcg',
    '-nodefaults',
    '-display',
    'none',
    '-S',
    '-qmp',
    `unix:${sock},server=on,wait=off`,
  ]);
  try {
    const qmp = await QmpSession.connect(sock, { timeoutMs: 10_000 });
    try {
      const v = await queryVersion(qmp);
      const machines = await queryMachines(qmp);
      const cpus = await queryCpuDefinitions(qmp);
      const features = qemuFeaturesOf(await queryQmpSchema(qmp), await queryMigrateCapabilities(qmp));
      const aliases: Record<string, string> = {};
      for (const m of machines) if (m.alias) aliases[m.alias] = m.name;
      return {
        qemuVersion: `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`,
        qemuPackage: v.package.trim(),
        features,
        machines: machines.map((m) => m.name).sort(),
        machineAliases: aliases,
        cpuModels: cpus.map((c) => c.name).sort(),
        kvm: await kvmWorks(binary, dir),
      };
    } finally {
      await qmp.close();
    }
  } catch (e) {
    throw new VmhopError(
      'VMHOP_ERR_QEMU_START_FAILED',
      `cannot probe ${binary}: ${(e as Error).message}`,
      { qemuBinary: binary },
      e,
    );
  } finally {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}
