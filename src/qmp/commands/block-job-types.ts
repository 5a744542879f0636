// Types of QEMU 7.2's job schema (qapi/job.json, block-core.json) used by block jobs: job types,
// the job status state machine that JOB_STATUS_CHANGE reports, error policies, and the arguments
// of blockdev-mirror.

export type JobType =
  | 'commit'
  | 'stream'
  | 'mirror'
  | 'backup'
  | 'create'
  | 'amend'
  | 'snapshot-load'
  | 'snapshot-save'
  | 'snapshot-delete';

/** created -> running -> ready (mirror) -> waiting -> pending -> concluded -> null. */
export type JobStatus =
  | 'undefined'
  | 'created'
  | 'running'
  | 'paused'
  | 'ready'
  | 'standby'
  | 'waiting'
  | 'pending'
  | 'aborting'
  | 'concluded'
  | 'null';

export type IoOperationType = 'read' | 'write';
export type BlockErrorAction = 'ignore' | 'report' | 'stop';
export type BlockdevOnError = 'report' | 'ignore' | 'enospc' | 'stop' | 'auto';
export type MirrorSyncMode = 'top' | 'full' | 'none' | 'incremental' | 'bitmap';
export type MirrorCopyMode = 'background' | 'write-blocking';

export type BlockJobInfo = {
  type: string;
  /** The job id. */
  device: string;
  /** Bytes: progress is offset / len, and len grows while the guest writes. */
  len: number;
  offset: number;
  busy: boolean;
  paused: boolean;
  speed: number;
  'io-status': 'ok' | 'failed' | 'nospace';
  ready: boolean;
  status: JobStatus;
  'auto-finalize': boolean;
  'auto-dismiss': boolean;
  error?: string;
};

export type BlockdevMirrorArgs = {
  'job-id': string;
  /** Node name of the source. */
  device: string;
  /** Node name of the target, already opened with blockdev-add. */
  target: string;
  /** `full` copies the whole chain; `top` only the top layer (the backing file exists on the target). */
  sync: MirrorSyncMode;
  replaces?: string;
  /** Bytes per second; 0 is unlimited. */
  speed?: number;
  granularity?: number;
  'buf-size'?: number;
  'on-source-error'?: BlockdevOnError;
  'on-target-error'?: BlockdevOnError;
  'filter-node-name'?: string;
  /** `write-blocking` makes guest writes synchronous to the target, so the mirror converges under load. */
  'copy-mode'?: MirrorCopyMode;
  'auto-finalize'?: boolean;
  'auto-dismiss'?: boolean;
};
