// `vmhop create NAME [--spec FILE | --test-guest ...] [--start]`: define a VM (and start it
// with --start). --test-guest makes one from the test guest: direct kernel boot of the built
// guest, a NIC on the host's guest bridge with an address and MAC from the guest subnet
// (the lowest free one across the known hosts unless --ip says), and an optional fresh disk.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { VmInfo } from '../../protocol/vm.js';
import type { VolumeInfo } from '../../protocol/storage.js';
import { VmhopError } from '../../protocol/errors.js';
import { guestAddress, testGuestSpec } from '../../test-guest/spec.js';
import { AgentClient } from '../../client/agent-client.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { readHostsFile } from '../../client/hosts-file.js';
import { emit } from '../../terminal/emit.js';
import { parseSize } from '../output/sizes.js';
import { runVerb } from '../run-verb.js';
import { humanVm, priorityOf } from './vm.js';

interface CreateFlags {
  spec?: string;
  testGuest?: boolean;
  ip?: string;
  memory: string;
  bridge: string;
  pool: string;
  disk?: string;
  memDirty?: string;
  diskWriter?: boolean;
  start?: boolean;
  priority?: string;
}

/** Guest addresses already given to test-guest VMs on any reachable host of the hosts file. */
async function usedGuestAddresses(current: AgentClient): Promise<Set<string>> {
  const used = new Set<string>();
  const clients = [
    current,
    ...Object.entries(readHostsFile().hosts).map(([name, e]) => new AgentClient({ name, ...e })),
  ];
  for (const c of clients) {
    try {
      const { vms } = await c.call<{ vms: VmInfo[] }>('GET', '/v1/vms');
      for (const v of vms) {
        const m = v.spec.boot.kind === 'kernel' ? /vmhop\.ip=([\d.]+)\//.exec(v.spec.boot.cmdline) : null;
        if (m?.[1]) used.add(m[1]);
      }
    } catch {
      // an unreachable host cannot tell; --ip settles a clash
    } finally {
      if (c !== current) await c.close();
    }
  }
  return used;
}

async function testGuest(name: string, f: CreateFlags, c: AgentClient) {
  let ip = f.ip;
  if (!ip) {
    const used = await usedGuestAddresses(c);
    for (let i = 0; i <= 245 && !ip; i++) if (!used.has(guestAddress(i))) ip = guestAddress(i);
  }
  if (!ip) throw new VmhopError('VMHOP_ERR_USAGE', 'no free address left in the guest subnet: pass --ip', {});
  const volume = `${name}-vda.qcow2`;
  return {
    volume,
    spec: testGuestSpec({
      name,
      memoryMiB: Number(f.memory),
      bridge: f.bridge,
      workload: {
        ip,
        ...(f.memDirty ? { memMiB: Number(f.memDirty), memRateMiBs: 8 } : {}),
        ...(f.diskWriter ? { disk: '/dev/vda' } : {}),
      },
      ...(f.disk ? { disk: { pool: f.pool, volume, format: 'qcow2' as const } } : {}),
    }),
  };
}

export function registerCreateVerb(program: Command): void {
  program
    .command('create <name>')
    .description('define a VM from --spec FILE or --test-guest; --start starts it too')
    .option('--spec <file>', 'a JSON VM spec')
    .option('--test-guest', 'make it from the test guest built by the set-up')
    .option('--ip <address>', 'test guest: its address (default: the lowest free in 10.77.0.0/24)')
    .option('--memory <MiB>', 'test guest: memory in MiB', '256')
    .option('--bridge <bridge>', 'test guest: host bridge for the NIC', 'br0')
    .option('--pool <pool>', 'test guest: pool for the disk volume', 'default')
    .option('--disk <size>', 'test guest: give it a disk (qcow2, thin; 1G = 2^30 bytes)')
    .option('--mem-dirty <MiB>', 'test guest: run the memory dirtier on this many MiB from boot')
    .option('--disk-writer', 'test guest: run the disk writer from boot (needs --disk)')
    .option('--priority <n>', 'drain priority, -100..100: higher moves first (default 0)')
    .option('--start', 'start it after defining it')
    .action(
      runVerb(async (f: CreateFlags, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        if (!!f.spec === !!f.testGuest) {
          throw new VmhopError(
            'VMHOP_ERR_USAGE',
            'create needs exactly one of --spec FILE or --test-guest',
            {},
          );
        }
        const priority = f.priority === undefined ? undefined : priorityOf(f.priority);
        const r = await withClient(g, async (c) => {
          let spec: unknown;
          let volume: string | undefined;
          if (f.spec) {
            try {
              spec = { ...(JSON.parse(readFileSync(f.spec, 'utf8')) as object), name };
            } catch (e) {
              throw new VmhopError('VMHOP_ERR_USAGE', `cannot read spec ${f.spec}: ${(e as Error).message}`, {
                file: f.spec,
              });
            }
          } else {
            const t = await testGuest(name, f, c);
            spec = t.spec;
            if (f.disk) {
              volume = t.volume;
              await c.call<VolumeInfo>('POST', `/v1/pools/${encodeURIComponent(f.pool)}/volumes`, {
                name: volume,
                sizeBytes: parseSize(f.disk),
                format: 'qcow2',
              });
            }
          }
          if (priority !== undefined) spec = { ...(spec as object), priority };
          try {
            await c.call<VmInfo>('POST', '/v1/vms', { spec });
          } catch (e) {
            // Nothing half-made: the volume made for this VM goes with the failed define.
            if (volume)
              await c
                .call(
                  'DELETE',
                  `/v1/pools/${encodeURIComponent(f.pool)}/volumes/${encodeURIComponent(volume)}`,
                )
                .catch(() => undefined);
            throw e;
          }
          if (!f.start) return c.call<VmInfo>('GET', `/v1/vms/${encodeURIComponent(name)}`);
          return c.call<VmInfo>('POST', `/v1/vms/${encodeURIComponent(name)}/start`, {});
        });
        emit(g, r, humanVm);
      }),
    );
}
