// The test bed's address plan and names (pure): which namespaces, interfaces, addresses
// and paths a set of hosts gets. Everything else in src/testbed derives from this, so
// `up`, `down` and `status` can never disagree about what exists.

export const GUEST_SUBNET = '10.77.0.0/24';
export const MGMT_SUBNET = '10.99.0.0/24';
export const MIGRATION_SUBNET = '10.98.0.0/24';
export const CLIENT_ADDRESS = '10.77.0.2';
export const ROOT_MGMT_ADDRESS = '10.99.0.1';
export const SHARED_PATH = '/srv/vmhop-shared';
export const HOST_DATA_DIR = '/var/lib/vmhop';
export const HOST_RUN_DIR = '/run/vmhop';
/** Where the test bed keeps its state and the files that hold mount namespaces. */
export const STATE_DIR = '/run/vmhop-testbed';
/** Backing storage for every host's /var/lib/vmhop and for the shared pool. */
export const BACKING_DIR = '/var/lib/vmhop-testbed';
export const BRIDGES = { mgmt: 'vh-mgmt', migration: 'vh-mig', guest: 'vh-guest' } as const;
export const CLIENT_NETNS = 'vmhop-client';
export const MAX_HOSTS = 40;

const HOST_NAME = /^[a-z][a-z0-9]{0,7}$/;

export interface HostPlan {
  name: string;
  netns: string;
  mountNsFile: string;
  mgmtAddress: string;
  migrationAddress: string;
  /** Root-namespace ends of the host's veth pairs. */
  ports: { mgmt: string; migration: string; guest: string };
  backingData: string;
  backingRun: string;
}

export function isValidHostName(name: string): boolean {
  return HOST_NAME.test(name) && name !== 'client';
}

export function hostPlan(name: string, index: number): HostPlan {
  return {
    name,
    netns: `vmhop-${name}`,
    mountNsFile: `${STATE_DIR}/mnt-${name}`,
    mgmtAddress: `10.99.0.${11 + index}`,
    migrationAddress: `10.98.0.${11 + index}`,
    ports: { mgmt: `vh-${name}-m`, migration: `vh-${name}-x`, guest: `vh-${name}-g` },
    backingData: `${BACKING_DIR}/hosts/${name}/data`,
    backingRun: `${STATE_DIR}/hosts/${name}/run`,
  };
}
