// The TCP ports a target agent listens on for a migration's streams (the RAM gate, the NBD
// server of a live copy, the offline data listener): the agent config's `migrationPorts`, so an
// administrator can keep them apart from libvirt's (49152-49215 by default) and open exactly
// them in a firewall. The source learns the target's range from its prepare reply (or host
// info): in post-copy it probes the port just below it on the target to learn whether the
// migration link is back, a port no stream uses.
import type { Server } from 'node:net';
import { VmhopError } from '../../../protocol/errors.js';
import type { MigrationPorts } from '../../../protocol/host.js';

export type { MigrationPorts };

/** The range of an agent whose config names none, and of a target too old to say its own. */
export const DEFAULT_MIGRATION_PORTS: MigrationPorts = { first: 49152, count: 100 };

export const lastPort = (r: MigrationPorts): number => r.first + r.count - 1;

/** `49152-49251`, for messages that name the range. */
export const describePorts = (r: MigrationPorts): string => `${r.first}-${lastPort(r)}`;

/**
 * Probed to learn whether the migration link is back: just below the range the target's QEMU
 * listens in, so the probe can never be taken for the resumed stream.
 */
export const probePortOf = (r: MigrationPorts): number => r.first - 1;

/**
 * Listens with `server` on the first free port of `ports` on `address` (a port taken or refused
 * is skipped); `what` names the listener in the errors: none free, or an address it cannot use.
 */
export async function listenInRange(
  server: Server,
  address: string,
  ports: MigrationPorts,
  what: string,
): Promise<number> {
  for (let i = 0; i < ports.count; i++) {
    const port = ports.first + i;
    const bound = await new Promise<boolean>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) =>
        e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(false) : reject(e);
      server.once('error', onError);
      server.listen({ port, host: address, exclusive: true }, () => {
        server.off('error', onError);
        resolve(true);
      });
    }).catch((e: unknown) => {
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_FAILED',
        `cannot listen for ${what} on ${address}:${port}: ${(e as Error).message}; check the agent's migrationAddress`,
        { address, port },
      );
    });
    if (bound) return port;
  }
  throw new VmhopError(
    'VMHOP_ERR_MIGRATION_FAILED',
    `no free port for ${what} on ${address} (${describePorts(ports)}); free one of them, or widen the agent's migrationPorts`,
    { address, ports },
  );
}
