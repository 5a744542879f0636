// The cluster CA on this machine: `vmhop ca init`, `vmhop ca issue NAME --ip ADDR --dns NAME`
// and `vmhop ca renew NAME`, giving each host the certificate its agent serves with, presents to
// peers and hands to QEMU. Names are checked before anything is written (exit 2 when one is wrong).
import type { Command } from 'commander';
import { initCa, issueHostCert, renewHostCert, type IssuedCert } from '../../credentials/ca.js';
import type { GlobalOptions } from '../connect.js';
import { emit } from '../../terminal/emit.js';
import { runVerb } from '../run-verb.js';

const DEFAULT_CA_DIR = '/etc/vmhop/ca';

const issued = (verb: string) => (x: IssuedCert) =>
  [
    `certificate for ${x.names.name} ${verb} in ${x.dir}${x.newKey ? ' (new key)' : ' (same key)'}`,
    `  valid until ${x.notAfter}`,
    `  names: ${[...x.names.dns.map((d) => `DNS:${d}`), ...x.names.ips.map((i) => `IP:${i}`)].join(', ')}`,
  ].join('\n');

export function registerCaVerbs(program: Command): void {
  const ca = program.command('ca').description('the cluster certificate authority');
  ca.command('init')
    .description('create the CA (idempotent)')
    .option('--dir <dir>', 'where the CA lives', DEFAULT_CA_DIR)
    .action(
      runVerb(async (f: { dir: string }, g: GlobalOptions) => {
        const r = await initCa(f.dir);
        emit(
          g,
          r,
          (x) => `${x.created ? 'CA created' : 'CA already there'}: ${x.cert} (valid until ${x.notAfter})`,
        );
      }),
    );
  ca.command('issue <name>')
    .description("issue a host's certificate with a new key (server and client use)")
    .option('--dir <dir>', 'where the CA lives', DEFAULT_CA_DIR)
    .requiredOption('--out <dir>', 'folder for the host certificate files')
    .option('--ip <ip...>', 'IPv4 or IPv6 addresses the host is reached at')
    .option('--dns <name...>', 'DNS names the host is reached by (its name is added when it is one)')
    .action(
      runVerb(
        async (f: { dir: string; out: string; ip?: string[]; dns?: string[] }, g: GlobalOptions, cmd) => {
          const r = await issueHostCert(f.dir, f.out, cmd.args[0] as string, {
            ips: f.ip ?? [],
            dns: f.dns ?? [],
          });
          emit(g, r, issued('issued'));
        },
      ),
    );
  ca.command('renew <name>')
    .description("re-issue a host's certificate: same names and, unless --new-key, the same key")
    .option('--dir <dir>', 'where the CA lives', DEFAULT_CA_DIR)
    .requiredOption('--out <dir>', 'folder holding the host certificate files')
    .option('--new-key', 'make a new key too (after a suspected leak)')
    .option('--ip <ip...>', 'replace the IP addresses of the old certificate')
    .option('--dns <name...>', 'replace the DNS names of the old certificate')
    .action(
      runVerb(
        async (f: { dir: string; out: string; newKey?: boolean; ip?: string[]; dns?: string[] }, g, cmd) => {
          const r = await renewHostCert(f.dir, f.out, cmd.args[0] as string, {
            newKey: f.newKey === true,
            ...(f.ip ? { ips: f.ip } : {}),
            ...(f.dns ? { dns: f.dns } : {}),
          });
          emit(
            g,
            r,
            (x) => `${issued('renewed')(x)}\ncopy ${x.dir} to the host and restart vmhop-agent there`,
          );
        },
      ),
    );
}
