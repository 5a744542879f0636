// Pre-flight checks that compare the two sides' QEMU: version order, the machine type the target
// must run (the source's resolved versioned type when RAM or device state moves, since an alias
// such as `pc` means pc-i440fx-7.2 on 7.2 and pc-i440fx-10.0 on 10), and the option rules of
// qemu-rules.ts (known-bad combinations, what either QEMU lacks). Changes nothing.
import type { HostInfo } from '../../protocol/host.js';
import type { MigrationMode, MigrationOptions } from '../../protocol/migration.js';
import { qomGet } from '../../qmp/index.js';
import type { VmRow } from '../db/vm-store.js';
import { compareQemuVersions } from '../host/qemu-features.js';
import type { MigrationContext } from './context.js';
import type { Add } from './preflight.js';
import { missingFeatureFix, missingFeatures, planMigrationSettings } from './options.js';
import { qemuRefusals, type QemuSides } from './qemu-rules.js';

/**
 * The versioned machine type the VM runs with here (QOM's /machine type, which is what its QEMU
 * really runs, even if the binary was upgraded under it), or, for a VM without a QEMU, what its
 * type stands for on this host's QEMU.
 */
export async function resolvedMachine(
  c: MigrationContext,
  vm: Pick<VmRow, 'name' | 'spec'>,
): Promise<string> {
  const qmp = c.supervisor.qmpOf(vm.name);
  if (qmp) {
    const type = await qomGet<string>(
      qmp,
      { path: '/machine', property: 'type' },
      { timeoutMs: 2_000 },
    ).catch(() => undefined);
    if (type) return type.replace(/-machine$/, '');
  }
  return (await c.qemu()).machineAliases[vm.spec.machine] ?? vm.spec.machine;
}

export async function qemuSides(c: MigrationContext, target: HostInfo): Promise<QemuSides> {
  const source = await c.qemu();
  return {
    source: { version: source.qemuVersion, accel: await c.accel(), features: source.features },
    target: { version: target.qemuVersion, accel: target.accel, features: target.qemuFeatures },
  };
}

export async function qemuChecks(
  c: MigrationContext,
  vm: VmRow,
  target: HostInfo,
  peerName: string,
  mode: MigrationMode,
  options: MigrationOptions,
  add: Add,
): Promise<void> {
  const sides = await qemuSides(c, target);
  const { source } = sides;
  // A cold boot on the target may take its own newest type for an alias; moved state may not.
  const stateMoves = mode !== 'offline' || options.keepState;
  const machine = stateMoves ? await resolvedMachine(c, vm) : vm.spec.machine;
  const machineOk = stateMoves
    ? target.machines.includes(machine)
    : target.machines.includes(machine) || machine in target.machineAliases;
  add(
    'machine-type',
    machineOk,
    stateMoves && machine !== vm.spec.machine
      ? `machine \`${vm.spec.machine}\` runs as \`${machine}\` here; the target runs it as \`${machine}\`, which \`${peerName}\` ${machineOk ? 'has' : 'lacks'}`
      : `machine \`${machine}\` ${machineOk ? 'is' : 'is not'} available on \`${peerName}\``,
    `define the VM with a machine type both hosts' QEMU have (newest on \`${peerName}\`: ${newestOfFamily(target, machine) ?? 'none of this family'}), restart it, then migrate; or upgrade QEMU on \`${peerName}\``,
  );
  const order = compareQemuVersions(target.qemuVersion, source.version);
  add(
    'qemu-version',
    order >= 0 || machineOk,
    order >= 0
      ? `QEMU ${source.version} here, ${target.qemuVersion} on \`${peerName}\`${order > 0 ? ' (newer: fine, hosts are upgraded one at a time)' : ''}`
      : `\`${peerName}\` runs an older QEMU (${target.qemuVersion}) than this host (${source.version}): ${machineOk ? `allowed, it has machine \`${machine}\`` : `it lacks machine \`${machine}\``}`,
    `upgrade QEMU on \`${peerName}\` to ${source.version} or newer, or use a machine type its QEMU has`,
  );
  if (mode === 'offline') return;
  const refusals = qemuRefusals(options, sides);
  for (const r of refusals) {
    const forced = r.forceable && options.force;
    add(r.check, forced, forced ? `forced (--force): ${r.reason}` : r.reason, r.fix);
  }
  // The plan's capabilities and parameters, without the QEMU rules (shown above) or TLS (its own check).
  const missing = missingFeatures(planMigrationSettings({ ...options, insecure: true }, {}), sides);
  for (const m of missing) add('qemu-features', false, m, missingFeatureFix);
  if (!refusals.some((r) => r.check === 'qemu-options') && missing.length === 0) {
    add(
      'qemu-options',
      true,
      `source QEMU ${source.version} (${source.accel}) and target QEMU ${target.qemuVersion} (${target.accel}) both support the requested options`,
    );
  }
}

/** The target's newest machine type of the same family (pc-i440fx-, pc-q35-), for the fix. */
function newestOfFamily(target: HostInfo, machine: string): string | undefined {
  const family = /^(pc-i440fx-|pc-q35-)/.exec(machine)?.[1] ?? (machine === 'q35' ? 'pc-q35-' : 'pc-i440fx-');
  return Object.values(target.machineAliases).find((m) => m.startsWith(family));
}
