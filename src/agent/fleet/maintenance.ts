// Maintenance mode (issue 17 §1): a drained host takes no new VMs (creates, defines, imports,
// incoming migrations) until `vmhop host undrain`. The mark lives in the registry (db/drain-store),
// so it survives a restart; routes that would bring a VM here call refuseInMaintenance first.
import type { HostInfo } from '../../protocol/host.js';
import { VmhopError } from '../../protocol/errors.js';
import { DrainStore } from '../db/drain-store.js';
import type { Db } from '../db/open.js';

/** HostInfo's `maintenance` field: present only while the host is drained. */
export function maintenanceField(db: Db): Pick<HostInfo, 'maintenance'> {
  const m = new DrainStore(db).maintenance();
  return m ? { maintenance: { since: m.since, reason: m.reason } } : {};
}

/**
 * Refuses `what` (e.g. "define VM `web`", "an incoming migration of `web` from `a`") on a host in
 * maintenance, naming the host, since when and why, and the command that lifts it.
 */
export function refuseInMaintenance(db: Db, host: string, what: string): void {
  const m = new DrainStore(db).maintenance();
  if (!m) return;
  throw new VmhopError(
    'VMHOP_ERR_HOST_MAINTENANCE',
    `host \`${host}\` is in maintenance since ${m.since} (${m.reason}) and takes no new VMs: ${what} is refused; \`vmhop host undrain ${host}\` ends the maintenance`,
    { host, since: m.since, reason: m.reason },
  );
}
