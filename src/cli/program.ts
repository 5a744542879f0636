// The `vmhop` command tree: global options and every verb, built without parsing anything, so
// main.ts, the completion script and tests all read the same definitions.
import { Command } from 'commander';
import { testbedCommand } from './verbs/testbed.js';
import { registerVmVerbs } from './verbs/vm.js';
import { registerPoolVerbs } from './verbs/pool.js';
import { registerHostVerbs } from './verbs/host.js';
import { registerXmlVerbs } from './verbs/xml.js';
import { registerCreateVerb } from './verbs/create.js';
import { registerCaVerbs } from './verbs/ca.js';
import { registerMigrateVerbs } from './verbs/migrate.js';
import { registerMigrateSpeedVerbs } from './verbs/migrate-speed.js';
import { registerJobVerbs } from './verbs/job.js';
import { registerVolCopyVerb } from './verbs/vol-copy.js';
import { registerUiVerb } from './verbs/ui.js';
import { registerAuditVerb } from './verbs/audit.js';
import { registerCompletionVerb } from './verbs/completion.js';
import { packageVersion } from '../repo/package-version.js';
import { routeUsageErrors, type Sink } from './usage-errors.js';

/** The whole tree; `sink` is where commander's own text goes (stdout and stderr by default). */
export function buildProgram(sink?: Sink): Command {
  const program = new Command('vmhop')
    .description('move QEMU/KVM virtual machines between hosts')
    .version(packageVersion(), '-V, --version', 'print the vmhop version')
    .option('-c, --connect <host>', 'host name from the hosts file, or an agent URL')
    .option('--token <token>', 'client token (shown by `ps`: prefer --token-file or VMHOP_TOKEN)')
    .option(
      '--token-file <file>',
      'file holding the client token (after --token, before VMHOP_TOKEN and the hosts file)',
    )
    .option('--json', 'print exactly one JSON document on stdout')
    .showHelpAfterError();

  registerVmVerbs(program);
  registerCreateVerb(program);
  registerMigrateVerbs(program);
  registerMigrateSpeedVerbs(program);
  registerJobVerbs(program);
  registerVolCopyVerb(program);
  registerPoolVerbs(program);
  registerXmlVerbs(program);
  registerHostVerbs(program);
  registerCaVerbs(program);
  registerUiVerb(program);
  registerAuditVerb(program);
  program.addCommand(testbedCommand());
  registerCompletionVerb(program);
  return routeUsageErrors(program, sink);
}
