// The VMHOP_ERR_* catalogue: stable codes, their HTTP status and a one-line meaning.
// Errors are data: every failure the CLI, API or UI shows carries one of these codes,
// a message naming the offending value and the fix, and structured details.
// No Node APIs here: the web UI imports this file too.

export const errorCatalogue = {
  VMHOP_ERR_USAGE: { status: 400, exit: 2, summary: 'the command or request is malformed' },
  VMHOP_ERR_NOT_ROOT: { status: 403, exit: 2, summary: 'the operation needs root privileges' },
  VMHOP_ERR_TESTBED_NOT_UP: { status: 409, exit: 4, summary: 'the test bed is not up' },
  VMHOP_ERR_TESTBED_HOST_UNKNOWN: { status: 404, exit: 3, summary: 'no such test-bed host' },
  VMHOP_ERR_GUEST_NOT_BUILT: { status: 409, exit: 4, summary: 'the test guest has not been built' },
  VMHOP_ERR_COMMAND_FAILED: { status: 500, exit: 1, summary: 'a system command failed' },
  VMHOP_ERR_TIMEOUT: { status: 504, exit: 1, summary: 'a wait ran past its deadline' },
  VMHOP_ERR_QMP: { status: 502, exit: 1, summary: 'QEMU refused or failed a QMP command' },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class VmhopError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'VmhopError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return errorCatalogue[this.code].status;
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isVmhopError(e: unknown): e is VmhopError {
  return e instanceof VmhopError;
}
