// Pre-flight: everything that can be known before a migration starts, each check with
// its fix. Nothing is changed on either host (the shared-storage probe file is removed).
import { existsSync } from 'node:fs';
import { queryMigrate } from '../../qmp/index.js';
import type { HostInfo } from '../../protocol/host.js';
import type { MigrationMode, MigrationOptions, PreflightCheck } from '../../protocol/migration.js';
import type { VmRow } from '../db/vm-store.js';
import type { PeerLink } from '../peers/peer-link.js';
import type { MigrationContext } from './context.js';
import { offlineChecks } from './offline-preflight.js';
import { chooseProtocol } from './preflight-protocol.js';
import { copyChecks } from './preflight-copy.js';
import { qemuChecks } from './preflight-qemu.js';

const MIB = 1024 * 1024;

/**
 * The checks; and, once the target answered and speaks a version in common with this agent, that
 * version and the target's host info (admission plans the job's settings from it, not asking again).
 */
export async function preflight(
  c: MigrationContext,
  vm: VmRow,
  peer: PeerLink,
  mode: MigrationMode,
  options: MigrationOptions,
): Promise<{ checks: PreflightCheck[]; protocolVersion?: number; target?: HostInfo }> {
  const checks: PreflightCheck[] = [];
  const add = (name: string, ok: boolean, detail: string, fix?: string) =>
    checks.push({ name, ok, detail, ...(ok || !fix ? {} : { fix }) });

  const live = mode !== 'offline';
  const up = vm.state === 'running' || vm.state === 'paused';
  add(
    'vm-state',
    live ? up : !up || options.keepState,
    `VM \`${vm.name}\` is ${vm.state}`,
    live
      ? `start it, or use --offline`
      : `pass --keep-state to save it and restore it on the target, or stop it first with \`vmhop shutdown ${vm.name}\``,
  );

  let target;
  try {
    target = await peer.hostInfo();
    add(
      'target-reachable',
      true,
      `agent \`${peer.name}\` answered (QEMU ${target.qemuVersion}) and accepted this agent's certificate`,
    );
  } catch (e) {
    add(
      'target-reachable',
      false,
      (e as Error).message,
      `check that vmhop-agent runs on \`${peer.name}\`, that both carry certificates of the same cluster CA, and the peers entry in the agent config`,
    );
    return { checks };
  }
  const protocol = chooseProtocol({ self: c.config.name, peer: peer.name }, target);
  if (protocol.version === undefined) {
    add('protocol', false, protocol.detail, protocol.fix);
    // Nothing more can be asked of an agent that speaks no version this one does.
    return { checks };
  }
  add('protocol', true, protocol.detail);
  const { version } = protocol;
  add(
    'name-free',
    !target.vmNames.includes(vm.name),
    target.vmNames.includes(vm.name)
      ? `\`${peer.name}\` already has a VM named \`${vm.name}\``
      : `no VM named \`${vm.name}\` on \`${peer.name}\``,
    `undefine it on \`${peer.name}\` first`,
  );
  await qemuChecks(c, vm, target, peer.name, mode, options, add);
  const cpuOk = target.cpuModels.includes(vm.spec.cpuModel);
  add(
    'cpu-model',
    cpuOk,
    `CPU model \`${vm.spec.cpuModel}\` ${cpuOk ? 'is' : 'is not'} available on \`${peer.name}\``,
    `use a CPU model both hosts have (qemu64 always is)`,
  );
  const need = vm.spec.memoryMiB * MIB;
  add(
    'memory',
    target.memoryFreeBytes >= need,
    `${vm.spec.memoryMiB} MiB needed, ${Math.floor(target.memoryFreeBytes / MIB)} MiB free on \`${peer.name}\``,
    'free memory on the target or pick another host',
  );
  const missingBridges = vm.spec.nics.map((n) => n.bridge).filter((b) => !target.bridges.includes(b));
  add(
    'bridges',
    missingBridges.length === 0,
    missingBridges.length
      ? `bridge(s) ${missingBridges.join(', ')} missing on \`${peer.name}\``
      : 'every NIC bridge exists on the target',
    `create the bridge on \`${peer.name}\` (the guest must land on the same L2 network)`,
  );
  if (live && c.supervisor.qmpOf(vm.name)) {
    const blocked = (await queryMigrate(c.supervisor.qmpOf(vm.name)!))['blocked-reasons'] ?? [];
    add(
      'qemu-blockers',
      blocked.length === 0,
      blocked.length ? `QEMU blocks migration: ${blocked.join('; ')}` : 'QEMU reports no migration blocker',
      'remove the devices QEMU names',
    );
  }
  if (mode === 'offline') await offlineChecks(c, vm, peer, version, options, add);
  else await storageChecks(c, vm, peer, version, mode, options, add);
  if (live && !options.insecure) {
    add(
      'tls',
      !!c.tlsDir && existsSync(`${c.tlsDir}/ca-cert.pem`),
      c.tlsDir ? `x509 credentials in ${c.tlsDir}` : 'this agent has no TLS material',
      'configure tls in the agent config, or pass --insecure to send RAM in plaintext',
    );
  }
  return { checks, protocolVersion: version, target };
}

export type Add = (name: string, ok: boolean, detail: string, fix?: string) => void;

async function storageChecks(
  c: MigrationContext,
  vm: VmRow,
  peer: PeerLink,
  protocolVersion: number,
  mode: MigrationMode,
  options: MigrationOptions,
  add: Add,
) {
  if (mode === 'live-copy') await copyChecks(c, vm, peer, options, add);
  for (const d of vm.spec.disks) {
    const pool = await c.storage.poolInfo(d.pool).catch(() => undefined);
    if (!pool) {
      add(
        `disk-${d.target}`,
        false,
        `pool \`${d.pool}\` of disk ${d.target} is not defined here`,
        'define the pool',
      );
      continue;
    }
    // live-copy leaves disks on shared pools in place: they get the same checks as live-shared.
    if (mode === 'live-shared' || (mode === 'live-copy' && pool.kind === 'shared')) {
      if (pool.kind !== 'shared') {
        add(
          `disk-${d.target}`,
          false,
          `disk ${d.target} is on \`${d.pool}\`, a ${pool.kind} pool local to this host`,
          'pass --copy-storage all to copy it during the migration, or move the volume to a shared pool',
        );
        continue;
      }
      const probe = await c.storage.writeProbe(d.pool);
      try {
        const seen = await peer.checkProbe(d.pool, probe.nonce, protocolVersion);
        const same = seen.seen && seen.markerId === pool.markerId;
        add(
          `disk-${d.target}`,
          same,
          same
            ? `disk ${d.target}: pool \`${d.pool}\` is the same storage on both hosts (marker ${pool.markerId})`
            : `disk ${d.target}: pool \`${d.pool}\` on \`${peer.name}\` is not the same storage (probe ${seen.seen ? 'seen' : 'not seen'}, marker ${seen.markerId ?? 'none'} vs ${pool.markerId})`,
          `mount the same storage at ${pool.path} on \`${peer.name}\` and define the pool there`,
        );
      } finally {
        await c.storage.removeProbe(d.pool, probe.nonce).catch(() => undefined);
      }
      const safe = d.cache === 'none' || d.cache === 'directsync';
      add(
        `cache-${d.target}`,
        safe,
        `disk ${d.target} uses cache=${d.cache}`,
        'use cache none (or directsync): with a host page cache the target can read stale data after the switchover',
      );
    }
  }
}
