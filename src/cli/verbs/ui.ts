// `vmhop ui [--listen ADDR:PORT]`: serves the web UI and lets it talk to every agent of the
// hosts file. Loopback by default: whoever reaches this port acts with the stored tokens.
import type { Command } from 'commander';
import { VmhopError } from '../../protocol/errors.js';
import { runVerb } from '../run-verb.js';
import { createUiServer } from '../ui-server/server.js';

function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-f:]+)\]|([^:]+)):(\d{1,5})$/i.exec(s);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new VmhopError('VMHOP_ERR_USAGE', `--listen \`${s}\`: expected ADDRESS:PORT, e.g. 127.0.0.1:8080`, {
      listen: s,
    });
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

export function registerUiVerb(program: Command): void {
  program
    .command('ui')
    .description('serve the web UI for the hosts of the hosts file')
    .option(
      '--listen <address:port>',
      'where to listen (loopback unless you mean otherwise)',
      '127.0.0.1:8080',
    )
    .action(
      runVerb(async (f: { listen: string }) => {
        const { host, port } = parseListen(f.listen);
        const ui = createUiServer();
        await new Promise<void>((resolve, reject) => {
          ui.server.once('error', (e: NodeJS.ErrnoException) =>
            reject(new VmhopError('VMHOP_ERR_USAGE', `cannot listen on ${f.listen}: ${e.code ?? e.message}`)),
          );
          ui.server.listen(port, host, resolve);
        });
        const where = host.includes(':') ? `[${host}]` : host;
        // The key in the URL is what lets a browser in: another local user or a web page does not have it.
        process.stderr.write(`vmhop ui: http://${where}:${port}/?key=${ui.key}\n`);
        const stop = () => void ui.close().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        await new Promise(() => undefined);
      }),
    );
}
