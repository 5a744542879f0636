// Public surface of the QMP client: the session (connect, execute, events), the error type, the
// typed events, and one typed function per QMP command named after it (query-migrate ->
// queryMigrate). Arguments and results keep QEMU's own member names. The fake QMP server and
// the transcript recorder live in ./testing and are not exported from here.

export {
  QmpError,
  isQmpError,
  type QmpErrorCode,
  type QmpArguments,
  type QmpErrorDetails,
} from './errors.js';
export {
  QmpSession,
  defaultCommandTimeoutMs,
  defaultConnectTimeoutMs,
  type QmpCommandOptions,
  type QmpConnectOptions,
  type QmpExecutor,
} from './session.js';
export type { EventStream } from './event-stream.js';
export type { EventPredicate, WaitEventOptions } from './event-wait.js';
export { defaultMaxLineBytes } from './line-splitter.js';
export type { QmpTrace, QmpTraceDirection } from './transport.js';
export type { QmpGreeting, QmpTimestamp, QmpVersion, QmpWireEvent } from './messages.js';
export { timestampMs } from './messages.js';
export {
  isQmpEvent,
  type QmpAnyEvent,
  type QmpEvent,
  type QmpEventMap,
  type QmpEventName,
  type ShutdownCause,
} from './events.js';

export * from './commands/run-state.js';
export * from './commands/migration.js';
export * from './commands/migration-types.js';
export * from './commands/dirty-rate.js';
export * from './commands/block.js';
export * from './commands/block-types.js';
export * from './commands/block-jobs.js';
export * from './commands/block-job-change.js';
export * from './commands/block-job-types.js';
export * from './commands/blockstats.js';
export * from './commands/nbd.js';
export * from './commands/objects.js';
export * from './commands/introspection.js';
export * from './commands/guest-io.js';
export * from './commands/socket-address.js';
