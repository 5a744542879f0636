// The VMHOP_ERR_* catalogue: stable codes, their HTTP status and a one-line meaning.
// Errors are data: every failure the CLI, API or UI shows carries one of these codes,
// a message naming the offending value and the fix, and structured details.
// No Node APIs here: the web UI imports this file too.

export const errorCatalogue = {
  VMHOP_ERR_USAGE: { status: 400, exit: 2, summary: 'the command or request is malformed' },
  VMHOP_ERR_REQUEST_TOO_LARGE: { status: 413, exit: 2, summary: 'the request body is over the size limit' },
  VMHOP_ERR_NOT_ROOT: { status: 403, exit: 2, summary: 'the operation needs root privileges' },
  VMHOP_ERR_TESTBED_NOT_UP: { status: 409, exit: 4, summary: 'the test bed is not up' },
  VMHOP_ERR_TESTBED_HOST_UNKNOWN: { status: 404, exit: 3, summary: 'no such test-bed host' },
  VMHOP_ERR_GUEST_NOT_BUILT: { status: 409, exit: 4, summary: 'the test guest has not been built' },
  VMHOP_ERR_COMMAND_FAILED: { status: 500, exit: 1, summary: 'a system command failed' },
  VMHOP_ERR_TIMEOUT: { status: 504, exit: 1, summary: 'a wait ran past its deadline' },
  VMHOP_ERR_QMP: { status: 502, exit: 1, summary: 'QEMU refused or failed a QMP command' },
  VMHOP_ERR_ROUTE_NOT_FOUND: { status: 404, exit: 3, summary: 'no such API route' },
  VMHOP_ERR_INTERNAL: { status: 500, exit: 1, summary: 'an unexpected internal error' },
  VMHOP_ERR_AUTH_MISSING: { status: 401, exit: 6, summary: 'no credentials were presented' },
  VMHOP_ERR_AUTH_INVALID: { status: 401, exit: 6, summary: 'the credentials were not accepted' },
  VMHOP_ERR_AUTH_READ_ONLY: {
    status: 403,
    exit: 6,
    summary: 'a read-only token may read but not change anything',
  },
  VMHOP_ERR_TOKEN_EXISTS: { status: 409, exit: 4, summary: 'a client token of that name exists' },
  VMHOP_ERR_TOKEN_NOT_FOUND: { status: 404, exit: 3, summary: 'no client token of that name' },
  VMHOP_ERR_HOST_UNKNOWN: { status: 404, exit: 3, summary: 'no such host connection' },
  VMHOP_ERR_HOST_UNREACHABLE: { status: 503, exit: 6, summary: 'the host agent cannot be reached' },
  VMHOP_ERR_HOST_INSUFFICIENT_MEMORY: {
    status: 422,
    exit: 5,
    summary: 'the host has not enough free memory',
  },
  VMHOP_ERR_VM_NOT_FOUND: { status: 404, exit: 3, summary: 'no such VM' },
  VMHOP_ERR_VM_EXISTS: { status: 409, exit: 4, summary: 'a VM of that name or uuid exists' },
  VMHOP_ERR_VM_STATE: { status: 409, exit: 4, summary: 'the VM is not in a state that allows this' },
  VMHOP_ERR_VM_CRASHED: { status: 409, exit: 1, summary: "the VM's QEMU exited without being asked" },
  VMHOP_ERR_VM_SPEC_INVALID: { status: 400, exit: 2, summary: 'the VM definition is malformed' },
  VMHOP_ERR_QEMU_START_FAILED: { status: 500, exit: 1, summary: 'QEMU did not start' },
  VMHOP_ERR_POOL_NOT_FOUND: { status: 404, exit: 3, summary: 'no such storage pool' },
  VMHOP_ERR_POOL_EXISTS: { status: 409, exit: 4, summary: 'a pool of that name exists' },
  VMHOP_ERR_POOL_INVALID: {
    status: 400,
    exit: 2,
    summary: 'the pool definition is malformed or its path unusable',
  },
  VMHOP_ERR_POOL_IN_USE: { status: 409, exit: 4, summary: 'the pool still holds volumes or VM disks' },
  VMHOP_ERR_VOLUME_NOT_FOUND: { status: 404, exit: 3, summary: 'no such volume' },
  VMHOP_ERR_VOLUME_EXISTS: { status: 409, exit: 4, summary: 'a volume of that name exists' },
  VMHOP_ERR_VOLUME_NAME_INVALID: { status: 400, exit: 2, summary: 'the volume name is not allowed' },
  VMHOP_ERR_VOLUME_NO_SPACE: { status: 409, exit: 5, summary: 'the pool has not enough free space' },
  VMHOP_ERR_VOLUME_IN_USE: { status: 409, exit: 4, summary: 'a VM uses the volume' },
  VMHOP_ERR_VOLUME_UNSUPPORTED: {
    status: 400,
    exit: 2,
    summary: 'the operation is not possible on this kind of pool',
  },
  VMHOP_ERR_PATH_OUTSIDE_POOL: { status: 400, exit: 2, summary: 'a path lies outside every storage pool' },
  VMHOP_ERR_PATH_NOT_ALLOWED: {
    status: 403,
    exit: 2,
    summary: 'the path lies outside the directories the agent config allows',
  },
  VMHOP_ERR_VOLUME_HARD_LINKED: {
    status: 400,
    exit: 2,
    summary: 'the volume file has other hard links, possibly outside the pool',
  },
  VMHOP_ERR_XML_INVALID: {
    status: 400,
    exit: 2,
    summary: 'the libvirt domain XML is malformed or unsupported',
  },
  VMHOP_ERR_MIGRATION_OPTIONS: {
    status: 400,
    exit: 2,
    summary: 'the migration options contradict each other or QEMU',
  },
  VMHOP_ERR_MIGRATION_PREFLIGHT: {
    status: 422,
    exit: 5,
    summary: 'a pre-flight check failed; nothing was moved',
  },
  VMHOP_ERR_COPY_INCOMPLETE: {
    status: 409,
    exit: 1,
    summary: 'the target did not receive all the data the source says it sent',
  },
  VMHOP_ERR_MIGRATION_UNRESOLVED: {
    status: 409,
    exit: 4,
    summary: "the VM's last migration has an unknown outcome; settle it with `vmhop job resolve`",
  },
  VMHOP_ERR_MIGRATION_IN_PROGRESS: { status: 409, exit: 4, summary: 'the VM is already being migrated' },
  VMHOP_ERR_MIGRATION_FAILED: {
    status: 500,
    exit: 1,
    summary: 'the migration failed; the VM runs on the source',
  },
  VMHOP_ERR_MIGRATION_CANCELLED: {
    status: 409,
    exit: 1,
    summary: 'the migration was cancelled; the VM runs on the source',
  },
  VMHOP_ERR_MIGRATION_INTERRUPTED: {
    status: 503,
    exit: 1,
    summary: 'an offline copy was interrupted; resume it with `vmhop job resume ID` or cancel it',
  },
  VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN: {
    status: 500,
    exit: 7,
    summary: 'the outcome is unknown; the source stays paused',
  },
  VMHOP_ERR_JOB_ENDED: { status: 409, exit: 4, summary: 'the migration job already ended on this host' },
  VMHOP_ERR_JOB_NOT_FOUND: { status: 404, exit: 3, summary: 'no such migration job' },
  VMHOP_ERR_PEER_UNKNOWN: { status: 404, exit: 3, summary: 'no such peer host in the agent configuration' },
  VMHOP_ERR_PEER_PROTOCOL: {
    status: 409,
    exit: 6,
    summary: 'the peer agent speaks another protocol version',
  },
  VMHOP_ERR_PEER_UNREACHABLE: { status: 503, exit: 6, summary: 'the peer agent cannot be reached' },
  VMHOP_ERR_PEER_AUTH: {
    status: 401,
    exit: 6,
    summary: 'the peer agent did not accept this agent, or was not proven',
  },
  VMHOP_ERR_PEER_ONLY: {
    status: 403,
    exit: 6,
    summary: 'only a peer agent with a cluster certificate may call this',
  },
  VMHOP_ERR_PEER_NOT_OF_JOB: {
    status: 403,
    exit: 6,
    summary: 'the calling peer agent is not the one the job names',
  },
  VMHOP_ERR_AUTH_PEER_CERT: {
    status: 403,
    exit: 6,
    summary: 'a peer certificate is not accepted in place of a client token here',
  },
  VMHOP_ERR_HOST_MAINTENANCE: {
    status: 409,
    exit: 4,
    summary: 'the host is drained for maintenance and takes no new VMs',
  },
  VMHOP_ERR_DRAIN_RUNNING: { status: 409, exit: 4, summary: 'a drain of this host is already running' },
  VMHOP_ERR_DRAIN_NOT_FOUND: { status: 404, exit: 3, summary: 'no such drain' },
  VMHOP_ERR_CLUSTER_RECORD_INVALID: {
    status: 502,
    exit: 1,
    summary: 'a value read from etcd (cluster mode) is not a valid vmhop record',
  },
  VMHOP_ERR_DRAIN_INCOMPLETE: {
    status: 409,
    exit: 1,
    summary: 'the drain ended with VMs left on the host',
  },
  VMHOP_ERR_CLUSTER_UNREACHABLE: {
    status: 503,
    exit: 6,
    summary: 'this host is cut off from etcd: it keeps its VMs running but takes nothing new',
  },
  VMHOP_ERR_VM_OWNED_ELSEWHERE: {
    status: 409,
    exit: 4,
    summary: 'the cluster names another host the owner of this VM',
  },
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

/** What an API answer with status ≥ 400 says: its `{error}` document, or nothing usable (a body that is not one). */
export interface ErrorBody {
  /** As sent; VMHOP_ERR_INTERNAL when the body named none. Not necessarily a code this version knows. */
  code: string;
  message: string | undefined;
  details: Record<string, unknown>;
}

export function readErrorBody(text: string): ErrorBody {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // not JSON: the caller falls back to the raw text
  }
  const e = (doc as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | null)
    ?.error;
  return { code: e?.code ?? 'VMHOP_ERR_INTERNAL', message: e?.message, details: e?.details ?? {} };
}

/** A code read from an answer, as one this version can raise: unknown codes become VMHOP_ERR_INTERNAL. */
export function knownErrorCode(code: string): ErrorCode {
  return code in errorCatalogue ? (code as ErrorCode) : 'VMHOP_ERR_INTERNAL';
}
