// The cluster CA on this machine: `vmhop ca init` and `vmhop ca issue NAME --ip ADDR`,
// giving each host the certificate its agent serves with and presents to peers.
import type { Command } from 'commander';
import { initCa, issueHostCert } from '../../credentials/ca.js';
import type { GlobalOptions } from '../connect.js';
import { emit } from '../../terminal/emit.js';
import { runVerb } from '../run-verb.js';

const DEFAULT_CA_DIR = '/etc/vmhop/ca';

export function registerCaVerbs(program: Command): void {
  const ca = program.command('ca').description('the cluster certificate authority');
  ca.command('init')
    .description('create the CA (idempotent)')
    .option('--dir <dir>', 'where the CA lives', DEFAULT_CA_DIR)
    .action(
      runVerb(async (f: { dir: string }, g: GlobalOptions) => {
        const r = await initCa(f.dir);
        emit(g, r, (x) => (x.created ? `CA created: ${x.cert}` : `CA already there: ${x.cert}`));
      }),
    );
  ca.command('issue <name>')
    .description("issue a host's certificate (server and client use)")
    .option('--dir <dir>', 'where the CA lives', DEFAULT_CA_DIR)
    .requiredOption('--out <dir>', 'folder for the host certificate files')
    .option('--ip <ip...>', 'IP addresses the host is reached at')
    .action(
      runVerb(async (f: { dir: string; out: string; ip?: string[] }, g: GlobalOptions, cmd) => {
        const r = await issueHostCert(f.dir, f.out, cmd.args[0] as string, { ips: f.ip ?? [] });
        emit(g, r, (x) => `certificate for ${cmd.args[0]} in ${x.dir}`);
      }),
    );
}
