// `vmhop testbed up|down|status|link`: several hosts on this machine (network + mount
// namespaces), for trying vmhop and for its end-to-end tests. Works locally, no agent.
import { Command } from 'commander';
import * as testbed from '../../testbed/testbed.js';
import type { Shaping } from '../../testbed/shaping.js';
import { VmhopError } from '../../protocol/errors.js';
import { emit, table } from '../../terminal/emit.js';
import { runVerb } from '../run-verb.js';

interface ShapeFlags {
  rate?: string;
  delay?: string;
  loss?: string;
}

const shapingOf = (f: ShapeFlags): Shaping => ({
  ...(f.rate ? { rate: f.rate } : {}),
  ...(f.delay ? { delay: f.delay } : {}),
  ...(f.loss ? { loss: f.loss } : {}),
});

const withShapeFlags = (c: Command) =>
  c
    .option('--rate <rate>', 'migration link rate, e.g. 100mbit')
    .option('--delay <delay>', 'one-way delay per direction, e.g. 20ms')
    .option('--loss <loss>', 'packet loss, e.g. 1%');

function humanStatus(s: testbed.TestbedStatus): string {
  if (!s.up) return 'test bed: down';
  const hosts = table(
    ['HOST', 'NETNS', 'MGMT', 'MIGRATION', 'EXISTS', 'AGENT', ...(s.etcd ? ['ETCD LINK'] : [])],
    s.hosts.map((h) => [
      h.name,
      h.netns,
      h.mgmtAddress,
      h.migrationAddress,
      h.exists ? 'yes' : 'NO',
      h.agent ? `${h.agent.url} pid ${h.agent.pid}${h.agent.running ? '' : ' (NOT RUNNING)'}` : '-',
      ...(s.etcd ? [h.etcdLink ?? '-'] : []),
    ]),
  );
  const etcd = s.etcd
    ? `${s.etcd.clientUrl} pid ${s.etcd.pid ?? '-'}${s.etcd.running ? (s.etcd.healthy ? '' : ' (NOT HEALTHY)') : ' (NOT RUNNING)'} (netns ${s.etcd.netns}, log ${s.etcd.log})`
    : 'none (up --etcd starts one)';
  const shaping = Object.entries(s.links.migration.shaping)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    hosts,
    '',
    `client:          ${s.client.address} (netns ${s.client.netns})`,
    `guest subnet:    ${s.guestSubnet}`,
    `shared path:     ${s.sharedPath}`,
    `migration link:  ${s.links.migration.state}${shaping ? ` (${shaping})` : ' (unshaped)'}`,
    `guest network:   ${s.links.guest.state}`,
    `etcd:            ${etcd}`,
  ].join('\n');
}

export function testbedCommand(): Command {
  const cmd = new Command('testbed').description('hosts as network + mount namespaces on this machine');
  withShapeFlags(
    cmd
      .command('up')
      .description('create the test bed (idempotent)')
      .option('--hosts <names>', 'comma-separated host names', testbed.DEFAULT_HOSTS.join(','))
      .option(
        '--qemu <path>',
        "the agents' QEMU binary (absolute path), e.g. QEMU 7.2 from scripts/qemu-7.2.sh",
      )
      .option(
        '--etcd',
        'cluster mode: an etcd at 10.99.0.5:2379, the agents configured for it, no peers map',
      ),
  ).action(
    runVerb(async (flags: ShapeFlags & { hosts: string; qemu?: string; etcd?: boolean }, opts) => {
      const shaping = shapingOf(flags);
      await testbed.up({
        hosts: flags.hosts.split(','),
        ...(flags.qemu ? { qemuBinary: flags.qemu } : {}),
        ...(flags.etcd ? { etcd: true } : {}),
        ...(Object.keys(shaping).length ? { shaping } : {}),
      });
      emit(opts, await testbed.status(), humanStatus);
    }),
  );
  cmd
    .command('down')
    .description('remove everything `up` made, processes included')
    .action(
      runVerb(async (_flags, opts) => {
        emit(opts, await testbed.down(), (r) =>
          r.removed.length ? r.removed.join('\n') : 'nothing to remove',
        );
      }),
    );
  cmd
    .command('status')
    .description('what exists now')
    .action(runVerb(async (_flags, opts) => emit(opts, await testbed.status(), humanStatus)));

  const link = cmd.command('link').description('cut, restore or shape a test-bed link');
  for (const to of ['down', 'up'] as const) {
    link
      .command(to)
      .description(to === 'down' ? 'cut a link silently (packets vanish)' : 'restore a link')
      .option('--net <net>', 'migration or guest', 'migration')
      .action(
        runVerb(async (flags: { net: string }, opts) => {
          if (flags.net !== 'migration' && flags.net !== 'guest') {
            throw new VmhopError(
              'VMHOP_ERR_USAGE',
              `--net ${flags.net} is not a test-bed network; use migration or guest`,
              { net: flags.net },
            );
          }
          await testbed.link(flags.net, to);
          emit(opts, await testbed.status(), humanStatus);
        }),
      );
  }
  const etcd = link.command('etcd').description("cut or restore one host's path to the test bed's etcd");
  for (const to of ['down', 'up'] as const) {
    etcd
      .command(to)
      .description(
        to === 'down'
          ? 'cut a host off etcd silently (its packets to 10.99.0.5 vanish; other hosts stay reachable)'
          : "restore a host's path to etcd",
      )
      .requiredOption('--host <name>', 'the test-bed host')
      .action(
        runVerb(async (flags: { host: string }, opts) => {
          await testbed.etcdLink(flags.host, to);
          emit(opts, await testbed.status(), humanStatus);
        }),
      );
  }
  withShapeFlags(link.command('shape').description('shape the migration link in both directions')).action(
    runVerb(async (flags: ShapeFlags, opts) => {
      await testbed.shape(shapingOf(flags));
      emit(opts, await testbed.status(), humanStatus);
    }),
  );
  link
    .command('clear')
    .description('remove shaping from the migration link')
    .action(
      runVerb(async (_flags, opts) => {
        await testbed.shape({});
        emit(opts, await testbed.status(), humanStatus);
      }),
    );
  return cmd;
}
