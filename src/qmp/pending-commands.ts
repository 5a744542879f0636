// The table of commands sent and not yet answered, keyed by the `id` we put on each one, each with
// its own timeout and AbortSignal. QEMU echoes the id in its reply, which is how concurrent
// commands are matched even when replies come back out of order. Ids are a counter, so a late
// reply to a command we gave up on (timeout, abort) is recognised and dropped, while an id we
// never issued is a protocol error.

import { watchDeadline } from './deadline.js';
import { QmpError, type QmpArguments } from './errors.js';

export interface PendingCommand {
  command: string;
  arguments: QmpArguments | undefined;
  resolve(value: unknown): void;
  reject(error: QmpError): void;
  /** Clears the command's timer and abort listener. */
  disarm(): void;
}

export interface RegisteredCommand {
  id: number;
  reply: Promise<unknown>;
}

export class PendingCommands {
  private readonly entries = new Map<number, PendingCommand>();
  private lastId = 0;

  /** Adds a command about to be sent; its reply rejects with QMP_TIMEOUT or QMP_ABORTED if it comes too late. */
  register(
    command: string,
    args: QmpArguments | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): RegisteredCommand {
    this.lastId += 1;
    const id = this.lastId;
    const details = { command, arguments: args };
    const reply = new Promise<unknown>((resolve, reject) => {
      let disarm = (): void => {};
      this.entries.set(id, { ...details, resolve, reject, disarm: () => disarm() });
      disarm = watchDeadline(
        { timeoutMs, signal },
        {
          onTimeout: () =>
            this.take(id)?.reject(
              new QmpError('QMP_TIMEOUT', `QMP ${command} timed out after ${timeoutMs} ms`, details),
            ),
          onAbort: (cause) =>
            this.take(id)?.reject(
              new QmpError('QMP_ABORTED', `QMP ${command} aborted`, { ...details, cause }),
            ),
        },
      );
    });
    return { id, reply };
  }

  /** Removes and returns the command with this id, disarmed; undefined if it is not pending. */
  take(id: unknown): PendingCommand | undefined {
    if (typeof id !== 'number') return undefined;
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    entry.disarm();
    return entry;
  }

  /** True for an id we issued and already settled (timed out or aborted): its reply is just late. */
  wasAbandoned(id: unknown): boolean {
    return (
      typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= this.lastId && !this.entries.has(id)
    );
  }

  rejectAll(errorFor: (entry: PendingCommand) => QmpError): void {
    const entries = [...this.entries.values()];
    this.entries.clear();
    for (const entry of entries) {
      entry.disarm();
      entry.reject(errorFor(entry));
    }
  }
}
