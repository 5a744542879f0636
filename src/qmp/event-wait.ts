// Waits for one QMP event that matches a predicate, with a deadline and an AbortSignal. The
// subscription is made synchronously when the wait is created, so `const w = waitEvent(...)` then
// sending the command that triggers the event is race-free even when QEMU emits the event before
// its reply (it does: `cont` sends RESUME before `{"return": {}}`).

import { watchDeadline } from './deadline.js';
import { QmpError } from './errors.js';
import type { QmpAnyEvent, QmpEvent, QmpEventName } from './events.js';
import type { EventSink } from './event-stream.js';

export interface WaitEventOptions {
  /** Required: every wait has a deadline. `Infinity` is allowed together with a signal. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export type EventPredicate<N extends QmpEventName> = (event: QmpEvent<N>) => boolean;

export function waitForEvent<N extends QmpEventName>(
  subscribe: (sink: EventSink) => () => void,
  name: N,
  predicate: EventPredicate<N> | undefined,
  options: WaitEventOptions,
): Promise<QmpEvent<N>> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let unsubscribe = (): void => {};
    let disarm = (): void => {};
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      unsubscribe();
      disarm();
      outcome();
    };
    const sink: EventSink = {
      deliver(event: QmpAnyEvent) {
        if (event.event !== name) return;
        const typed = event as QmpEvent<N>;
        try {
          if (predicate && !predicate(typed)) return;
        } catch (error) {
          settle(() => reject(error));
          return;
        }
        settle(() => resolve(typed));
      },
      end(reason) {
        const why = reason === undefined ? 'the QMP session was closed' : reason.message;
        const message = `stopped waiting for QMP event ${name}: ${why}`;
        settle(() => reject(new QmpError('QMP_DISCONNECTED', message, { cause: reason })));
      },
    };
    unsubscribe = subscribe(sink);
    if (settled) {
      unsubscribe();
      return;
    }
    disarm = watchDeadline(options, {
      onTimeout: () =>
        settle(() =>
          reject(new QmpError('QMP_TIMEOUT', `no QMP event ${name} within ${options.timeoutMs} ms`)),
        ),
      onAbort: (cause) =>
        settle(() =>
          reject(new QmpError('QMP_ABORTED', `waiting for QMP event ${name} was aborted`, { cause })),
        ),
    });
  });
}
