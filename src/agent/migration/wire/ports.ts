// The TCP ports a target agent listens on for a migration's streams (the RAM gate, the NBD
// server of a live copy): the agent config's `migrationPorts`, so an administrator can keep them
// apart from libvirt's (49152-49215 by default) and open exactly them in a firewall. The source
// learns the target's range from its prepare reply (or host info): in post-copy it probes the
// port just below it on the target to learn whether the migration link is back, a port no stream uses.
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
