// QmpError: the one error type of the QMP client. It owns the codes and the message format;
// it does not decide what a caller does about a failure. A failed QMP command keeps the command,
// its arguments and QEMU's own error `class` and `desc`, so a migration report can say exactly
// which step QEMU refused and why.

export type QmpErrorCode =
  | 'QMP_COMMAND_FAILED'
  | 'QMP_DISCONNECTED'
  | 'QMP_TIMEOUT'
  | 'QMP_ABORTED'
  | 'QMP_PROTOCOL'
  | 'QMP_LINE_TOO_LONG'
  | 'QMP_EVENTS_OVERFLOW'
  | 'QMP_CONNECT_FAILED';

export type QmpArguments = Record<string, unknown>;

export interface QmpErrorDetails {
  command?: string;
  arguments?: QmpArguments;
  /** QEMU's error class, e.g. `GenericError`, `CommandNotFound`, `DeviceNotFound`. */
  errorClass?: string;
  /** QEMU's human-readable error text. */
  desc?: string;
  cause?: unknown;
}

export class QmpError extends Error {
  override readonly name = 'QmpError';
  readonly code: QmpErrorCode;
  readonly command: string | undefined;
  readonly arguments: QmpArguments | undefined;
  readonly errorClass: string | undefined;
  readonly desc: string | undefined;

  constructor(code: QmpErrorCode, message: string, details: QmpErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.command = details.command;
    this.arguments = details.arguments;
    this.errorClass = details.errorClass;
    this.desc = details.desc;
  }
}

export function isQmpError(value: unknown, code?: QmpErrorCode): value is QmpError {
  return value instanceof QmpError && (code === undefined || value.code === code);
}

/** QEMU answered the command with `{"error": {...}}`. */
export function commandFailed(
  command: string,
  args: QmpArguments | undefined,
  errorClass: string,
  desc: string,
): QmpError {
  return new QmpError('QMP_COMMAND_FAILED', `QMP ${command} failed (${errorClass}): ${desc}`, {
    command,
    arguments: args,
    errorClass,
    desc,
  });
}
