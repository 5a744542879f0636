// Connections and hosts: host add/list/remove (the hosts file, like virt-manager's "Add
// connection") and host info (what the agent reports about its host).
import type { Command } from 'commander';
import type { HostInfo } from '../../protocol/host.js';
import { rangeOf, showRange } from '../../protocol/protocol-version.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { hostsFilePath, readHostsFile, writeHostsFile } from '../../client/hosts-file.js';
import { emit, table } from '../../terminal/emit.js';
import { formatSize } from '../output/sizes.js';
import { runVerb } from '../run-verb.js';
import { VmhopError } from '../../protocol/errors.js';
import { pickToken, type TokenOptions } from '../../client/token-source.js';
import { registerHostDrain } from './host-drain.js';

const sourceText = { flag: '--token', file: '--token-file', env: 'VMHOP_TOKEN', 'hosts-file': '' } as const;

const labelWidth = 14;

/** A long name list over several lines, indented under its label. */
function wrapList(names: string[], width = 80): string {
  const lines: string[] = [];
  let line = '';
  for (const n of names) {
    if (line && line.length + n.length + 2 > width) {
      lines.push(`${line},`);
      line = '';
    }
    line += (line ? ', ' : '') + n;
  }
  if (line || lines.length === 0) lines.push(line || '(none)');
  return lines.join(`\n${' '.repeat(labelWidth)}`);
}

/** The agent's certificate end; an agent older than the field or without TLS says so. */
function certificateLine(h: HostInfo): string {
  const c = h.certificate;
  if (!c) return h.url.startsWith('http:') ? 'none (insecure agent)' : '(not reported by this agent)';
  const end = c.notAfter ? `valid until ${c.notAfter} (${c.daysLeft} days left)` : c.file;
  return c.warning ? `${end}\n${' '.repeat(labelWidth)}WARNING: ${c.warning}` : end;
}

function humanHost(h: HostInfo): string {
  const lines = [
    ['Name', h.name],
    ['URL', h.url],
    ['Agent', `${h.agentVersion} (protocol ${showRange(rangeOf(h))})`],
    ['QEMU', h.qemuVersion + (h.qemuPackage ? ` (${h.qemuPackage})` : '')],
    ['Accelerator', h.accel + (h.kvm ? '' : ' (KVM not usable here)')],
    ['CPUs', String(h.cpus)],
    ['Memory', `${formatSize(h.memoryFreeBytes)} free of ${formatSize(h.memoryTotalBytes)}`],
    ['VMs', String(h.vmCount)],
    [
      'Maintenance',
      h.maintenance
        ? `since ${h.maintenance.since} (${h.maintenance.reason}): no new VMs until \`vmhop host undrain ${h.name}\``
        : 'no',
    ],
    [
      'Cluster',
      h.cluster
        ? `etcd ${h.cluster.endpoints.join(', ')}, ${h.cluster.inTouch ? 'in touch' : 'CUT OFF (keeps its VMs running, takes nothing new)'}; members: ${h.cluster.members.join(', ') || '(none)'}`
        : 'no (embedded mode: peers from the agent config)',
    ],
    ['Migration', h.migrationAddress],
    ['Certificate', certificateLine(h)],
    [
      'Machines',
      Object.entries(h.machineAliases)
        .map(([a, m]) => `${a} -> ${m}`)
        .join(', ') + ` (+${h.machines.length} types)`,
    ],
    ['CPU models', `${h.cpuModels.length} (${h.cpuModels.slice(0, 6).join(', ')}, ...)`],
    ['Migr. caps', wrapList(h.qemuFeatures.migrationCapabilities)],
    ['Migr. params', wrapList(h.qemuFeatures.migrationParameters)],
    ['Compression', `multifd: ${h.qemuFeatures.multifdCompression.join(', ') || '(none)'}`],
    ['QMP commands', wrapList(h.qemuFeatures.commands)],
  ]
    .map(([k, v]) => `${(k + ':').padEnd(labelWidth)}${v}`)
    .join('\n');
  const pools = table(
    ['POOL', 'KIND', 'CAPACITY', 'FREE'],
    h.pools.map((p) => [p.name, p.kind, formatSize(p.capacityBytes), formatSize(p.freeBytes)]),
  );
  return `${lines}\n\n${pools}`;
}

export function registerHostVerbs(program: Command): void {
  const host = program.command('host').description('connections to host agents');
  host
    .command('add <name> <url>')
    .description('add or replace a connection')
    .option('--token <token>', 'client token of that agent (shown by `ps`: prefer --token-file)')
    .option('--token-file <file>', 'file holding the client token (else $VMHOP_TOKEN)')
    .option('--ca <file>', 'PEM of the CA that signed the agent certificate')
    .option('--default', 'use it when -c is not given')
    .action(
      runVerb(async (f: TokenOptions & { ca?: string; default?: boolean }, g: GlobalOptions, cmd) => {
        const [name, url] = cmd.args as [string, string];
        if (!/^https?:\/\/[^/]+\/?$/.test(url)) {
          throw new VmhopError(
            'VMHOP_ERR_USAGE',
            `\`${url}\` is not an agent URL; expected e.g. https://10.99.0.11:8443`,
            { url },
          );
        }
        // The token is kept in the hosts file (0600), so the UI and later verbs find it.
        const picked = pickToken(
          { token: f.token ?? g.token, tokenFile: f.tokenFile ?? g.tokenFile },
          undefined,
        );
        const file = readHostsFile();
        file.hosts[name] = { url, ...(picked ? { token: picked.token } : {}), ...(f.ca ? { ca: f.ca } : {}) };
        if (f.default || !file.default) file.default = name;
        writeHostsFile(file);
        const from = picked ? sourceText[picked.source] : undefined;
        emit(
          g,
          { name, url, file: hostsFilePath(), tokenFrom: from ?? null },
          (r) =>
            `connection ${r.name} -> ${r.url} saved in ${r.file} (${r.tokenFrom ? `token from ${r.tokenFrom}` : 'no token'})`,
        );
      }),
    );
  host
    .command('list')
    .description('list connections')
    .action(
      runVerb(async (_f, g: GlobalOptions) => {
        const file = readHostsFile();
        const rows = Object.entries(file.hosts).map(([n, e]) => ({
          name: n,
          url: e.url,
          default: file.default === n,
        }));
        emit(g, { hosts: rows }, (r) =>
          table(
            ['NAME', 'URL', 'DEFAULT'],
            r.hosts.map((h) => [h.name, h.url, h.default ? '*' : '']),
          ),
        );
      }),
    );
  host
    .command('remove <name>')
    .description('forget a connection')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        const file = readHostsFile();
        delete file.hosts[name];
        if (file.default === name) delete file.default;
        writeHostsFile(file);
        emit(g, { removed: name }, () => `connection ${name} removed`);
      }),
    );
  registerHostDrain(host);
  host
    .command('info')
    .description("the host's QEMU, CPU models, machine types, memory, pools and VMs")
    .action(
      runVerb(async (_f, g: GlobalOptions) =>
        emit(g, await withClient(g, (c) => c.call<HostInfo>('GET', '/v1/host')), humanHost),
      ),
    );
}
