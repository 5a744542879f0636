// The target's migration listener: one TCP port on the migration address, for this job
// only (QEMU started with -incoming defer; migrate-incoming opens the port). Never 0.0.0.0.
import net from 'node:net';
import { migrateIncoming, type QmpExecutor } from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';

export const PORT_RANGE = { first: 49152, count: 100 };

async function portFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, address, () => srv.close(() => resolve(true)));
  });
}

export async function listenIncoming(qmp: QmpExecutor, address: string): Promise<number> {
  const port = await freePort(address);
  await migrateIncoming(qmp, { uri: `tcp:${address}:${port}` });
  return port;
}

/** The first port of PORT_RANGE nothing listens on; QEMU binds it right after (a lost race fails its bind, named). */
export async function freePort(address: string): Promise<number> {
  for (let i = 0; i < PORT_RANGE.count; i++) {
    const port = PORT_RANGE.first + i;
    if (await portFree(address, port)) return port;
  }
  throw new VmhopError(
    'VMHOP_ERR_MIGRATION_FAILED',
    `no free port for an incoming migration on ${address} (${PORT_RANGE.first}-${PORT_RANGE.first + PORT_RANGE.count - 1})`,
    { address },
  );
}
