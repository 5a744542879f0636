// Types of QEMU 7.2's block-layer schema (qapi/block-core.json) that vmhop uses: the blockdev-add
// options for the drivers it opens (file, host_device, qcow2, raw, nbd) and what query-block and
// query-named-block-nodes return. Other drivers are left out on purpose: the engine must not be
// able to open something the storage layer does not understand.

import type { SocketAddress } from './socket-address.js';

export type BlockdevDiscardOptions = 'ignore' | 'unmap';
export type BlockdevDetectZeroesOptions = 'off' | 'on' | 'unmap';

type BlockdevCommonOptions = {
  /** Required by vmhop on top-level nodes although QEMU allows it out: they are addressed by name. */
  'node-name': string;
  discard?: BlockdevDiscardOptions;
  cache?: { direct?: boolean; 'no-flush'?: boolean };
  'read-only'?: boolean;
  'auto-read-only'?: boolean;
  'force-share'?: boolean;
  'detect-zeroes'?: BlockdevDetectZeroesOptions;
};

type BlockdevPosixFileOptions = {
  filename: string;
  locking?: 'auto' | 'on' | 'off';
  aio?: 'threads' | 'native' | 'io_uring';
};

type WithOptionalNodeName<T> = T extends unknown ? Omit<T, 'node-name'> & { 'node-name'?: string } : never;

/** A child node: the node-name of an existing node, or options to open it inline (its name optional). */
export type BlockdevRef = string | WithOptionalNodeName<BlockdevOptions>;

export type BlockdevOptions =
  | (BlockdevCommonOptions & { driver: 'file' } & BlockdevPosixFileOptions)
  | (BlockdevCommonOptions & { driver: 'host_device' } & BlockdevPosixFileOptions)
  | (BlockdevCommonOptions & {
      driver: 'qcow2';
      file: BlockdevRef;
      /** null: open without the backing chain (the target of a `sync: top` mirror gets it set later). */
      backing?: BlockdevRef | null;
      'lazy-refcounts'?: boolean;
      'cache-size'?: number;
      'l2-cache-size'?: number;
    })
  | (BlockdevCommonOptions & { driver: 'raw'; file: BlockdevRef; offset?: number; size?: number })
  | (BlockdevCommonOptions & {
      driver: 'nbd';
      server: SocketAddress;
      export?: string;
      'tls-creds'?: string;
      'tls-hostname'?: string;
      'reconnect-delay'?: number;
      'open-timeout'?: number;
    });

export type ImageInfo = {
  filename: string;
  format: string;
  'dirty-flag'?: boolean;
  'actual-size'?: number;
  'virtual-size': number;
  'cluster-size'?: number;
  encrypted?: boolean;
  compressed?: boolean;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  'backing-image'?: ImageInfo;
  'format-specific'?: { type: string; data: Record<string, unknown> };
};

export type BlockDirtyInfo = {
  name?: string;
  count: number;
  granularity: number;
  recording: boolean;
  busy: boolean;
  persistent: boolean;
  inconsistent?: boolean;
};

/** One node as query-named-block-nodes returns it (and `inserted` in query-block). */
export type BlockDeviceInfo = {
  file: string;
  'node-name'?: string;
  ro: boolean;
  drv: string;
  backing_file?: string;
  backing_file_depth: number;
  encrypted: boolean;
  detect_zeroes: BlockdevDetectZeroesOptions;
  bps: number;
  bps_rd: number;
  bps_wr: number;
  iops: number;
  iops_rd: number;
  iops_wr: number;
  image: ImageInfo;
  cache: { writeback: boolean; direct: boolean; 'no-flush': boolean };
  write_threshold: number;
  'dirty-bitmaps'?: BlockDirtyInfo[];
};

export type BlockDeviceIoStatus = 'ok' | 'failed' | 'nospace';

/**
 * One guest-visible block backend as query-block returns it. With -blockdev + -device the
 * `device` name is '' and `qdev` names the device; nodes without a device are not listed at all.
 */
export type BlockInfo = {
  device: string;
  qdev?: string;
  type: string;
  removable: boolean;
  locked: boolean;
  inserted?: BlockDeviceInfo;
  tray_open?: boolean;
  'io-status'?: BlockDeviceIoStatus;
};
