// Block-node commands: query-block, query-named-block-nodes, blockdev-add, blockdev-del. They
// open and close nodes in QEMU's block graph (the NBD client node a mirror writes to, the target
// volume an NBD export serves); creating image files is qemu-img's job, not QMP's.

import type { QmpCommandOptions, QmpExecutor } from '../session.js';
import type { BlockDeviceInfo, BlockdevOptions, BlockInfo } from './block-types.js';

export function queryBlock(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<BlockInfo[]> {
  return qmp.execute<BlockInfo[]>('query-block', undefined, options);
}

/** `flat: true` lists every node once, without nesting backing images inside their parents. */
export function queryNamedBlockNodes(
  qmp: QmpExecutor,
  args: { flat?: boolean } = {},
  options?: QmpCommandOptions,
): Promise<BlockDeviceInfo[]> {
  return qmp.execute<BlockDeviceInfo[]>('query-named-block-nodes', { ...args }, options);
}

export async function blockdevAdd(
  qmp: QmpExecutor,
  args: BlockdevOptions,
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('blockdev-add', { ...args }, options);
}

/** Fails while the node is in use (by a device, a job or an export); remove those first. */
export async function blockdevDel(
  qmp: QmpExecutor,
  args: { 'node-name': string },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('blockdev-del', { ...args }, options);
}
