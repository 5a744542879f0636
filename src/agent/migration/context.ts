// What both sides of the engine use: the registry, the VM service and supervisor, storage,
// events, this agent's config, and the peer links (by host name). Built once per agent.
import type { Logger } from 'pino';
import type { QemuCapabilities } from '../host/capabilities.js';
import type { AgentConfig } from '../config.js';
import type { JobStore } from '../db/job-store.js';
import type { VmStore } from '../db/vm-store.js';
import type { EventBus } from '../events/bus.js';
import type { PeerLink } from '../peers/peer-link.js';
import type { MigrationPorts } from './wire/ports.js';
import type { StorageService } from '../storage/storage-service.js';
import type { Supervisor } from '../vm/supervisor.js';
import type { VmService } from '../vm/service.js';
import type { ClusterMode } from '../fleet/cluster-mode.js';

export interface MigrationContext {
  config: AgentConfig;
  jobs: JobStore;
  vms: VmService;
  vmStore: VmStore;
  supervisor: Supervisor;
  storage: StorageService;
  events: EventBus;
  log: Logger;
  /** The link to a peer agent by its host name; throws VMHOP_ERR_PEER_UNKNOWN. */
  peer(name: string): PeerLink;
  /** Address QEMU listens on for incoming migrations and NBD. */
  migrationAddress: string;
  /** The TCP ports on it this host's RAM gates and NBD servers take (config `migrationPorts`). */
  migrationPorts: MigrationPorts;
  /** Folder with ca-cert.pem, server-*.pem, client-*.pem for QEMU's tls-creds-x509. */
  tlsDir: string | undefined;
  /** This host's QEMU: version, machine types, migration features (probed at agent start). */
  qemu(): Promise<QemuCapabilities>;
  /** The accelerator this agent's VMs run under. */
  accel(): Promise<'kvm' | 'tcg'>;
  /** Cluster mode (config `cluster.etcd`): the owner key in etcd is the commit point. */
  cluster?: ClusterMode;
}
