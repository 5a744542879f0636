// libvirt interop: import-xml FILE (read here, on the client side) and dumpxml NAME.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { VmInfo } from '../../protocol/vm.js';
import { VmhopError } from '../../protocol/errors.js';
import { withClient, type GlobalOptions } from '../connect.js';
import { emit } from '../../terminal/emit.js';
import { runVerb } from '../run-verb.js';

export function registerXmlVerbs(program: Command): void {
  program
    .command('import-xml <file>')
    .description('define a VM from a libvirt domain XML (e.g. /etc/libvirt/qemu/NAME.xml)')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const file = cmd.args[0] as string;
        let xml: string;
        try {
          xml = readFileSync(file, 'utf8');
        } catch (e) {
          throw new VmhopError('VMHOP_ERR_USAGE', `cannot read ${file}: ${(e as Error).message}`, { file });
        }
        const r = await withClient(g, (c) =>
          c.call<{ vm: VmInfo; warnings: string[] }>('POST', '/v1/vms/import-xml', { xml }),
        );
        emit(g, r, (x) => [`VM ${x.vm.name} defined`, ...x.warnings.map((w) => `warning: ${w}`)].join('\n'));
      }),
    );
  program
    .command('dumpxml <name>')
    .description('print a VM as libvirt domain XML')
    .action(
      runVerb(async (_f, g: GlobalOptions, cmd) => {
        const name = cmd.args[0] as string;
        const xml = await withClient(g, (c) => c.raw('GET', `/v1/vms/${encodeURIComponent(name)}/xml`));
        emit(g, { vm: name, xml }, (r) => r.xml);
      }),
    );
}
