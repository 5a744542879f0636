// `vmhop create NAME --test-guest --ip ADDR`: define and start a VM in one step (virsh
// create), here the test guest: direct kernel boot of the built guest, a NIC on the host's
// guest bridge, and optionally a fresh disk volume its disk writer can use.
import type { Command } from 'commander';
import type { VmInfo } from '../../protocol/vm.js';
import type { VolumeInfo } from '../../protocol/storage.js';
import { VmhopError } from '../../protocol/errors.js';
import { testGuestSpec } from '../../testbed/guest.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { emit } from '../output/emit.js';
import { parseSize } from '../output/sizes.js';
import { runVerb } from '../run-verb.js';
import { humanVm } from './vm.js';

interface CreateFlags {
  testGuest?: boolean;
  ip?: string;
  memory: string;
  bridge: string;
  pool: string;
  diskSize?: string;
  memDirty?: string;
  diskWriter?: boolean;
  noStart?: boolean;
}

export function registerCreateVerb(program: Command): void {
  program
    .command('create <name>')
    .description('define and start the test guest: --test-guest --ip 10.77.0.5 [--disk-size 1G]')
    .option('--test-guest', 'the test guest built by the set-up (the only template so far)')
    .option('--ip <address>', 'guest address in the guest subnet, e.g. 10.77.0.5')
    .option('--memory <MiB>', 'memory in MiB', '256')
    .option('--bridge <bridge>', 'host bridge for the NIC', 'br0')
    .option('--pool <pool>', 'pool for the disk volume', 'default')
    .option('--disk-size <size>', 'give it a disk (qcow2, thin) of this size, e.g. 1G')
    .option('--mem-dirty <MiB>', 'start the memory dirtier on boot with this many MiB')
    .option('--disk-writer', 'start the disk writer on boot (needs --disk-size)')
    .option('--no-start', 'only define it')
    .action(
      runVerb(async (f: CreateFlags & { start?: boolean }, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        if (!f.testGuest || !f.ip) {
          throw new VmhopError(
            'VMHOP_ERR_USAGE',
            'create needs --test-guest and --ip ADDRESS (other templates are not built in yet; use `vmhop define FILE`)',
            {},
          );
        }
        const volume = `${name}-vda.qcow2`;
        const spec = testGuestSpec({
          name,
          memoryMiB: Number(f.memory),
          bridge: f.bridge,
          workload: {
            ip: f.ip,
            ...(f.memDirty ? { memMiB: Number(f.memDirty), memRateMiBs: 8 } : {}),
            ...(f.diskWriter ? { disk: '/dev/vda' } : {}),
          },
          ...(f.diskSize ? { disk: { pool: f.pool, volume, format: 'qcow2' as const } } : {}),
        });
        const r = await withClient(g, async (c) => {
          if (f.diskSize) {
            await c.call<VolumeInfo>('POST', `/v1/pools/${encodeURIComponent(f.pool)}/volumes`, {
              name: volume,
              sizeBytes: parseSize(f.diskSize),
              format: 'qcow2',
            });
          }
          try {
            await c.call<VmInfo>('POST', '/v1/vms', { spec });
          } catch (e) {
            // Nothing half-made: the volume made for this VM goes with the failed define.
            if (f.diskSize)
              await c
                .call(
                  'DELETE',
                  `/v1/pools/${encodeURIComponent(f.pool)}/volumes/${encodeURIComponent(volume)}`,
                )
                .catch(() => undefined);
            throw e;
          }
          if (f.start === false) return c.call<VmInfo>('GET', `/v1/vms/${encodeURIComponent(name)}`);
          return c.call<VmInfo>('POST', `/v1/vms/${encodeURIComponent(name)}/start`, {});
        });
        emit(g, r, humanVm);
      }),
    );
}
