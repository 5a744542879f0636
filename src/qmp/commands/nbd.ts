// NBD server and block export commands, the target side of a storage migration: nbd-server-start
// opens the listener, block-export-add serves a node on it, block-export-del and nbd-server-stop
// take them down. nbd-server-add is QEMU 7.2's deprecated spelling of an NBD export, kept because
// the issue asks for it; prefer block-export-add, which has an id to delete by.

import type { QmpCommandOptions, QmpExecutor } from '../session.js';
import { toSocketAddressLegacy, type SocketAddress } from './socket-address.js';

export type NbdServerStartArgs = {
  /** Given flat; sent in the legacy `{type, data}` form QEMU 7.2 expects for this command. */
  addr: SocketAddress;
  'tls-creds'?: string;
  'tls-authz'?: string;
  'max-connections'?: number;
};

export type BlockExportNbdArgs = {
  type: 'nbd';
  id: string;
  'node-name': string;
  /** Export name clients ask for; defaults to the node name. */
  name?: string;
  description?: string;
  writable?: boolean;
  writethrough?: boolean;
  bitmaps?: string[];
  'allocation-depth'?: boolean;
};

export type BlockExportInfo = {
  id: string;
  type: 'nbd' | 'vhost-user-blk' | 'fuse' | 'vduse-blk';
  'node-name': string;
  'shutting-down': boolean;
};

/** One server per QEMU: a second start fails with "NBD server already running". */
export async function nbdServerStart(
  qmp: QmpExecutor,
  args: NbdServerStartArgs,
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('nbd-server-start', { ...args, addr: toSocketAddressLegacy(args.addr) }, options);
}

/** Also removes every export on the server; fails with "NBD server not running" when there is none. */
export async function nbdServerStop(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<void> {
  await qmp.execute('nbd-server-stop', undefined, options);
}

/** Deprecated in QEMU 7.2; the export's id is its name. */
export async function nbdServerAdd(
  qmp: QmpExecutor,
  args: { device: string; name?: string; description?: string; writable?: boolean; bitmap?: string },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('nbd-server-add', { ...args }, options);
}

export async function blockExportAdd(
  qmp: QmpExecutor,
  args: BlockExportNbdArgs,
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('block-export-add', { ...args }, options);
}

/**
 * In the default `safe` mode QEMU 7.2 refuses while an NBD client is connected ("export 'id' still
 * in use"); `hard` drops the clients. BLOCK_EXPORT_DELETED marks the export gone (it came before
 * the reply when no client was connected).
 */
export async function blockExportDel(
  qmp: QmpExecutor,
  args: { id: string; mode?: 'safe' | 'hard' },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('block-export-del', { ...args }, options);
}

export function queryBlockExports(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<BlockExportInfo[]> {
  return qmp.execute<BlockExportInfo[]>('query-block-exports', undefined, options);
}
