// Waits for the QMP greeting, the first line QEMU sends on a new monitor connection, within the
// connect deadline. It owns the two ways that goes wrong: no greeting in time (QEMU serves one
// client per monitor and keeps a second one waiting silently) and a connection that ends first.

import { watchDeadline } from './deadline.js';
import { QmpError } from './errors.js';
import type { QmpGreeting } from './messages.js';

export class GreetingWait {
  readonly greeting: Promise<QmpGreeting>;
  private readonly socketPath: string;
  private settle: ((outcome: QmpGreeting | QmpError) => void) | undefined;

  constructor(
    socketPath: string,
    options: { deadline: number; timeoutMs: number; signal?: AbortSignal | undefined },
  ) {
    this.socketPath = socketPath;
    this.greeting = new Promise((resolve, reject) => {
      const disarm = watchDeadline(
        { timeoutMs: options.deadline - Date.now(), signal: options.signal },
        {
          onTimeout: () =>
            this.settle?.(
              new QmpError(
                'QMP_CONNECT_FAILED',
                `no QMP greeting on ${socketPath} within ${options.timeoutMs} ms ` +
                  '(QEMU serves one client per monitor: is another one connected?)',
              ),
            ),
          onAbort: (cause) =>
            this.settle?.(new QmpError('QMP_ABORTED', `connecting to ${socketPath} was aborted`, { cause })),
        },
      );
      this.settle = (outcome) => {
        this.settle = undefined;
        disarm();
        if (outcome instanceof QmpError) reject(outcome);
        else resolve(outcome);
      };
    });
  }

  get waiting(): boolean {
    return this.settle !== undefined;
  }

  receive(greeting: QmpGreeting): void {
    this.settle?.(greeting);
  }

  /** A protocol violation is reported as such (wrong kind of socket); anything else as a failed connect. */
  connectionEnded(reason: QmpError | undefined): void {
    if (!this.settle) return;
    if (reason?.code === 'QMP_PROTOCOL') {
      this.settle(reason);
      return;
    }
    const why = reason?.message ?? 'the QMP session was closed';
    this.settle(
      new QmpError('QMP_CONNECT_FAILED', `no QMP greeting on ${this.socketPath}: ${why}`, { cause: reason }),
    );
  }
}
