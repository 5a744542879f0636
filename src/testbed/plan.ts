// The test bed's address plan and names (pure): which namespaces, interfaces, addresses
// and paths a set of hosts gets. Everything else in src/testbed derives from this, so
// `up`, `down` and `status` can never disagree about what exists.
import { VmhopError } from '../protocol/errors.js';

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
/** `up --etcd`: one etcd member in its own namespace on the management network. */
export const ETCD_NETNS = 'vmhop-etcd';
export const ETCD_ADDRESS = '10.99.0.5';
export const ETCD_BINARY = '/usr/bin/etcd';

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

export interface EtcdPlan {
  netns: string;
  address: string;
  /** Root-namespace end of its veth pair on the management bridge (vh-<x>-m, as hosts have). */
  port: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
}

export function isValidHostName(name: string): boolean {
  // `client` and `etcd` name namespaces and ports of their own (vmhop-etcd, vh-etcd-m).
  return HOST_NAME.test(name) && name !== 'client' && name !== 'etcd';
}

export function plansFor(hosts: readonly string[]): HostPlan[] {
  if (hosts.length === 0 || hosts.length > MAX_HOSTS) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `a test bed has 1 to ${MAX_HOSTS} hosts, not ${hosts.length}`,
      {},
    );
  }
  const seen = new Set<string>();
  return hosts.map((name, i) => {
    if (!isValidHostName(name) || seen.has(name)) {
      throw new VmhopError(
        'VMHOP_ERR_USAGE',
        `host name \`${name}\` is not valid: use 1-8 lower-case letters or digits, starting with a letter, each once`,
        { host: name },
      );
    }
    seen.add(name);
    return hostPlan(name, i);
  });
}

export function etcdPlan(): EtcdPlan {
  return {
    netns: ETCD_NETNS,
    address: ETCD_ADDRESS,
    port: 'vh-etcd-m',
    clientUrl: `http://${ETCD_ADDRESS}:2379`,
    peerUrl: `http://${ETCD_ADDRESS}:2380`,
    dataDir: `${STATE_DIR}/etcd`,
    logFile: `${STATE_DIR}/etcd.log`,
  };
}

/** The etcd command line: a single-member cluster, plain HTTP (the test bed has no etcd TLS). */
export function etcdArgv(p: EtcdPlan): string[] {
  return [
    ETCD_BINARY,
    '--name',
    p.netns,
    '--data-dir',
    p.dataDir,
    '--listen-client-urls',
    p.clientUrl,
    '--advertise-client-urls',
    p.clientUrl,
    '--listen-peer-urls',
    p.peerUrl,
    '--initial-advertise-peer-urls',
    p.peerUrl,
    '--initial-cluster',
    `${p.netns}=${p.peerUrl}`,
    '--initial-cluster-token',
    'vmhop-testbed',
    '--initial-cluster-state',
    'new',
    '--logger',
    'zap',
    '--log-outputs',
    'stderr',
  ];
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
