// Run-state commands: query-status, stop, cont, quit, system_powerdown, system_reset. `stop` and
// `cont` pause and resume the vCPUs (QEMU emits STOP and RESUME, before the reply); system_powerdown
// only asks the guest (ACPI) and returns at once, the guest may ignore it.

import { isQmpError } from '../errors.js';
import type { QmpCommandOptions, QmpExecutor } from '../session.js';

export type RunState =
  | 'debug'
  | 'inmigrate'
  | 'internal-error'
  | 'io-error'
  | 'paused'
  | 'postmigrate'
  | 'prelaunch'
  | 'finish-migrate'
  | 'restore-vm'
  | 'running'
  | 'save-vm'
  | 'shutdown'
  | 'suspended'
  | 'watchdog'
  | 'guest-panicked'
  | 'colo';

export type StatusInfo = {
  running: boolean;
  /** Gone from QEMU 8.1 on (deprecated; 10.0 does not send it). */
  singlestep?: boolean;
  status: RunState;
};

export function queryStatus(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<StatusInfo> {
  return qmp.execute<StatusInfo>('query-status', undefined, options);
}

export async function stop(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<void> {
  await qmp.execute('stop', undefined, options);
}

export async function cont(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<void> {
  await qmp.execute('cont', undefined, options);
}

/**
 * Asks QEMU to exit. QEMU may close the socket before its reply is read, so when QEMU itself
 * ended the connection that is the expected outcome of `quit`, not a failure. A session we closed
 * ourselves still fails: then QEMU was never told. Await `session.closed` to know it is gone.
 */
export async function quit(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<void> {
  try {
    await qmp.execute('quit', undefined, options);
  } catch (error) {
    const peerClosed = isQmpError(error, 'QMP_DISCONNECTED') && isQmpError(error.cause, 'QMP_DISCONNECTED');
    if (!peerClosed) throw error;
  }
}

export async function systemPowerdown(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<void> {
  await qmp.execute('system_powerdown', undefined, options);
}

export async function systemReset(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<void> {
  await qmp.execute('system_reset', undefined, options);
}
