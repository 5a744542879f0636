// Typed QMP events, named exactly as QEMU names them (STOP, MIGRATION, BLOCK_JOB_READY...), with
// the data QEMU 7.2 sends. Events not listed here still reach subscribers as QmpAnyEvent; the map
// only adds types. Events without data (STOP, RESUME, POWERDOWN) arrive with no `data` member.

import type { QmpTimestamp, QmpWireEvent } from './messages.js';
import type { MigrationStatus } from './commands/migration-types.js';
import type { BlockErrorAction, IoOperationType, JobStatus, JobType } from './commands/block-job-types.js';

export type ShutdownCause =
  | 'none'
  | 'host-error'
  | 'host-qmp-quit'
  | 'host-qmp-system-reset'
  | 'host-signal'
  | 'host-ui'
  | 'guest-shutdown'
  | 'guest-reset'
  | 'guest-panic'
  | 'subsystem-reset'
  | 'snapshot-load';

interface BlockJobEventData {
  type: JobType;
  /** The job id (QEMU calls it `device` for history's sake). */
  device: string;
  len: number;
  offset: number;
  speed: number;
}

export interface QmpEventMap {
  STOP: undefined;
  RESUME: undefined;
  POWERDOWN: undefined;
  SUSPEND: undefined;
  WAKEUP: undefined;
  SHUTDOWN: { guest: boolean; reason: ShutdownCause };
  RESET: { guest: boolean; reason: ShutdownCause };
  GUEST_PANICKED: { action: 'pause' | 'poweroff' | 'run'; info?: Record<string, unknown> };
  /** Sent only when the `events` migration capability is on. */
  MIGRATION: { status: MigrationStatus };
  /** Sent only when the `events` migration capability is on; `pass` counts RAM iterations from 1. */
  MIGRATION_PASS: { pass: number };
  UNPLUG_PRIMARY: { 'device-id': string };
  BLOCK_JOB_READY: BlockJobEventData;
  /** Also sent when a ready mirror is cancelled: that is a successful completion without pivot. */
  BLOCK_JOB_COMPLETED: BlockJobEventData & { error?: string };
  BLOCK_JOB_CANCELLED: BlockJobEventData;
  BLOCK_JOB_ERROR: { device: string; operation: IoOperationType; action: BlockErrorAction };
  BLOCK_JOB_PENDING: { type: JobType; id: string };
  JOB_STATUS_CHANGE: { id: string; status: JobStatus };
  BLOCK_IO_ERROR: {
    device: string;
    'node-name'?: string;
    operation: IoOperationType;
    action: BlockErrorAction;
    nospace?: boolean;
    reason: string;
  };
  BLOCK_EXPORT_DELETED: { id: string };
  DEVICE_DELETED: { device?: string; path: string };
}

export type QmpEventName = keyof QmpEventMap;

type EventOf<N extends QmpEventName> = QmpEventMap[N] extends undefined
  ? { event: N; timestamp: QmpTimestamp; data?: undefined }
  : { event: N; timestamp: QmpTimestamp; data: QmpEventMap[N] };

/** A typed event; `QmpEvent<'MIGRATION'>` or the union of all known events. */
export type QmpEvent<N extends QmpEventName = QmpEventName> = { [K in N]: EventOf<K> }[N];

/** Any event as received, known or not. Narrow it with `isQmpEvent`. */
export type QmpAnyEvent = QmpWireEvent;

export function isQmpEvent<N extends QmpEventName>(
  event: QmpAnyEvent,
  name: N,
): event is QmpAnyEvent & QmpEvent<N> {
  return event.event === name;
}
