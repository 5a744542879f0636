// Target, live-copy: one NBD server on the migration address (never 0.0.0.0), TLS admitting only
// the job's source certificate (tls-authz) unless the user chose --insecure, and one writable
// export per copied disk of the paused incoming QEMU (QEMU activates an exported node although
// the guest waits for -incoming). Server and exports are the job's artifacts; the commit and
// every rollback take them down (nbd-server-stop).
import net from 'node:net';
import {
  blockExportAdd,
  blockExportDel,
  migrateSetCapabilities,
  nbdServerStart,
  nbdServerStop,
  type QmpExecutor,
} from '../../../qmp/index.js';
import { VmhopError } from '../../../protocol/errors.js';
import type { MigrationContext } from '../context.js';
import { AUTHZ_OBJECT_ID, TLS_OBJECT_ID } from '../qemu-settings.js';
import { describePorts, type MigrationPorts } from '../wire/ports.js';

export const NBD_SERVER_ARTIFACT = 'nbd-server';
export const exportName = (jobId: string, target: string) => `vmhop-${jobId.slice(0, 8)}-${target}`;

async function portFree(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, address, () => srv.close(() => resolve(true)));
  });
}

async function startServer(
  qmp: QmpExecutor,
  address: string,
  ports: MigrationPorts,
  tls: boolean,
): Promise<number> {
  // The top of the migration port range, so the RAM listener (from the bottom) rarely collides.
  for (let i = ports.count - 1; i >= 0; i--) {
    const port = ports.first + i;
    if (!(await portFree(address, port))) continue;
    await nbdServerStart(qmp, {
      addr: { type: 'inet', host: address, port: String(port) },
      ...(tls ? { 'tls-creds': TLS_OBJECT_ID, 'tls-authz': AUTHZ_OBJECT_ID } : {}),
    });
    return port;
  }
  throw new VmhopError(
    'VMHOP_ERR_MIGRATION_FAILED',
    `no free port for the NBD server on ${address} (${describePorts(ports)}): free one, wait for other migrations to end, or widen the agent's migrationPorts`,
    { address, ports },
  );
}

export async function exportDisks(
  c: MigrationContext,
  qmp: QmpExecutor,
  jobId: string,
  targets: readonly string[],
  tls: boolean,
): Promise<{ port: number; exports: { target: string; name: string }[] }> {
  // The guest's disk devices must not take their write permission back while an export still
  // holds one: with late-block-activate that happens at `cont`, after finish stopped the server.
  await migrateSetCapabilities(qmp, { capabilities: [{ capability: 'late-block-activate', state: true }] });
  const port = await startServer(qmp, c.migrationAddress, c.migrationPorts, tls);
  c.jobs.addArtifact(jobId, 'nbd-export', NBD_SERVER_ARTIFACT);
  const exports = [];
  for (const target of targets) {
    const name = exportName(jobId, target);
    await blockExportAdd(qmp, {
      type: 'nbd',
      id: name,
      'node-name': `drive-${target}`,
      name,
      writable: true,
    });
    c.jobs.addArtifact(jobId, 'nbd-export', name);
    exports.push({ target, name });
  }
  return { port, exports };
}

/** Removes one recorded export (hard: a source that went silent must not keep it) or the server. */
export async function removeNbdArtifact(qmp: QmpExecutor, ref: string): Promise<void> {
  if (ref === NBD_SERVER_ARTIFACT) await nbdServerStop(qmp);
  else await blockExportDel(qmp, { id: ref, mode: 'hard' });
}
