// Storage verbs, named after virsh: pool-list, pool-define, pool-info, pool-undefine,
// vol-list, vol-create, vol-info, vol-delete.
import type { Command } from 'commander';
import type { PoolInfo, VolumeInfo } from '../../protocol/storage.js';
import { VmhopError } from '../../protocol/errors.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { emit, table } from '../../terminal/emit.js';
import { formatSize, parseSize } from '../output/sizes.js';
import { runVerb } from '../run-verb.js';

const poolPath = (p: string) => `/v1/pools/${encodeURIComponent(p)}`;

/** POOL/VOL as virsh users write it. */
function splitVolume(ref: string): [string, string] {
  const i = ref.indexOf('/');
  if (i <= 0 || i === ref.length - 1) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `volume \`${ref}\` must be written POOL/VOLUME, e.g. default/web1.qcow2`,
      { volume: ref },
    );
  }
  return [ref.slice(0, i), ref.slice(i + 1)];
}

const humanPool = (p: PoolInfo) =>
  [
    ['Name', p.name],
    ['Kind', p.kind],
    ['Path', p.path ?? (p.devices ?? []).join(', ')],
    ['Capacity', formatSize(p.capacityBytes)],
    ['Free', formatSize(p.freeBytes)],
    ['Allocation', formatSize(p.allocationBytes)],
    ['Volumes', String(p.volumeCount)],
    ...(p.markerId ? [['Marker id', p.markerId]] : []),
  ]
    .map(([k, v]) => `${(k + ':').padEnd(12)}${v}`)
    .join('\n');

export function registerPoolVerbs(program: Command): void {
  program
    .command('pool-list')
    .description('list storage pools')
    .action(
      runVerb(async (_f, g: GlobalOptions) => {
        const r = await withClient(g, (c) =>
          c.call<{ pools: PoolInfo[]; problems: { pool: string; message: string }[] }>('GET', '/v1/pools'),
        );
        emit(g, r, (x) =>
          [
            table(
              ['NAME', 'KIND', 'CAPACITY', 'FREE', 'VOLUMES', 'PATH'],
              x.pools.map((p) => [
                p.name,
                p.kind,
                formatSize(p.capacityBytes),
                formatSize(p.freeBytes),
                String(p.volumeCount),
                p.path ?? (p.devices ?? []).join(','),
              ]),
            ),
            ...x.problems.map((p) => `problem: pool ${p.pool}: ${p.message}`),
          ].join('\n'),
        );
      }),
    );

  program
    .command('pool-define <name>')
    .description('define a pool: --kind dir|shared --path DIR, or --kind block --device DEV...')
    .requiredOption('--kind <kind>', 'dir, shared or block')
    .option('--path <dir>', 'folder of a dir or shared pool')
    .option('--device <dev...>', 'devices of a block pool')
    .action(
      runVerb(async (f: { kind: string; path?: string; device?: string[] }, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        const def =
          f.kind === 'block'
            ? { name, kind: f.kind, devices: f.device ?? [] }
            : { name, kind: f.kind, path: f.path };
        const r = await withClient(g, (c) => c.call<PoolInfo>('POST', '/v1/pools', def));
        emit(g, r, humanPool);
      }),
    );

  program
    .command('pool-info <name>')
    .description('show one pool')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) =>
        emit(
          g,
          await withClient(g, (c) => c.call<PoolInfo>('GET', poolPath(cmd.args[0] as string))),
          humanPool,
        ),
      ),
    );

  program
    .command('pool-undefine <name>')
    .description('forget a pool (its files stay)')
    .option('--force', 'even if it holds volumes')
    .action(
      runVerb(async (f: { force?: boolean }, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        const r = await withClient(g, (c) =>
          c.call<{ ok: true }>('DELETE', `${poolPath(name)}${f.force ? '?force=true' : ''}`),
        );
        emit(g, r, () => `pool ${name} undefined`);
      }),
    );

  program
    .command('vol-list <pool>')
    .description('list the volumes of a pool')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const r = await withClient(g, (c) =>
          c.call<{ volumes: VolumeInfo[] }>('GET', `${poolPath(cmd.args[0] as string)}/volumes`),
        );
        emit(g, r, (x) =>
          table(
            ['NAME', 'FORMAT', 'SIZE', 'ALLOCATED', 'BACKING'],
            x.volumes.map((v) => [
              v.name,
              v.format,
              formatSize(v.virtualSizeBytes),
              formatSize(v.allocatedBytes),
              v.backingChain[0]?.path ?? '-',
            ]),
          ),
        );
      }),
    );

  program
    .command('vol-create <pool> <name> [size]')
    .description(
      'create a thin volume (virsh vol-create-as): SIZE like 10G (1G = 2^30 bytes), or --backing BASE',
    )
    .option('--format <format>', 'qcow2 or raw', 'qcow2')
    .option('--backing <volume>', 'a volume of the same pool to overlay')
    .option('--allow-overcommit', 'create even if it could outgrow the free space')
    .action(
      runVerb(
        async (f: { format: string; backing?: string; allowOvercommit?: boolean }, g: GlobalOptions, cmd) => {
          const [pool, name, size] = cmd.args as [string, string, string | undefined];
          const body = {
            name,
            format: f.format,
            ...(size ? { sizeBytes: parseSize(size) } : {}),
            ...(f.backing ? { backingVolume: f.backing } : {}),
            ...(f.allowOvercommit ? { allowOvercommit: true } : {}),
          };
          const r = await withClient(g, (c) => c.call<VolumeInfo>('POST', `${poolPath(pool)}/volumes`, body));
          emit(
            g,
            r,
            (v) =>
              `volume ${pool}/${v.name} created (${formatSize(v.virtualSizeBytes)}, ${v.format}) at ${v.path}`,
          );
        },
      ),
    );

  program
    .command('vol-info <volume>')
    .description('show POOL/VOLUME')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const [pool, name] = splitVolume(cmd.args[0] as string);
        const r = await withClient(g, (c) =>
          c.call<VolumeInfo>('GET', `${poolPath(pool)}/volumes/${encodeURIComponent(name)}`),
        );
        emit(g, r, (v) =>
          [
            `Name:      ${v.name}`,
            `Path:      ${v.path}`,
            `Format:    ${v.format}`,
            `Size:      ${formatSize(v.virtualSizeBytes)}`,
            `Allocated: ${formatSize(v.allocatedBytes)}`,
            ...v.backingChain.map((b) => `Backing:   ${b.path} (${b.format})`),
          ].join('\n'),
        );
      }),
    );

  program
    .command('vol-delete <volume>')
    .description('delete POOL/VOLUME')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const [pool, name] = splitVolume(cmd.args[0] as string);
        const r = await withClient(g, (c) =>
          c.call<{ ok: true }>('DELETE', `${poolPath(pool)}/volumes/${encodeURIComponent(name)}`),
        );
        emit(g, r, () => `volume ${pool}/${name} deleted`);
      }),
    );
}
