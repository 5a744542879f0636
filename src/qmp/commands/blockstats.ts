// query-blockstats: I/O counters per guest-visible block backend. The migration engine reads
// wr_bytes twice about a second apart to measure how fast the guest writes a disk, which decides
// the mirror's copy mode before blockdev-mirror fixes it (QEMU 7.2 has no block-job-change).

import type { QmpCommandOptions, QmpExecutor } from '../session.js';

export type BlockDeviceStats = {
  rd_bytes: number;
  wr_bytes: number;
  rd_operations: number;
  wr_operations: number;
  flush_operations: number;
  wr_highest_offset: number;
};

/** With -blockdev + -device, `device` is '' and `qdev` names the device (its id is the disk target). */
export type BlockStats = {
  device?: string;
  qdev?: string;
  'node-name'?: string;
  stats: BlockDeviceStats;
};

export function queryBlockstats(
  qmp: QmpExecutor,
  args: { 'query-nodes'?: boolean } = {},
  options?: QmpCommandOptions,
): Promise<BlockStats[]> {
  return qmp.execute<BlockStats[]>('query-blockstats', { ...args }, options);
}
