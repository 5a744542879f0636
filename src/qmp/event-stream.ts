// An async iterator over QMP events, fed by the session. It starts buffering the moment it is
// created, so a caller who subscribes before sending a command cannot miss the event the command
// triggers. It ends when the session ends: quietly after a local close, with a QMP_DISCONNECTED
// error when QEMU went away, so a loop waiting for MIGRATION never mistakes a crash for a finish.
// Its buffer is bounded: a stream nobody reads fails with QMP_EVENTS_OVERFLOW instead of growing
// with every event a busy (or hostile) monitor sends.

import { QmpError } from './errors.js';
import type { QmpAnyEvent } from './events.js';

export interface EventSink {
  deliver(event: QmpAnyEvent): void;
  /** `reason` undefined: the session was closed locally. */
  end(reason: QmpError | undefined): void;
}

/** Unread events a stream holds before it gives up (a few MiB of typical events). */
export const defaultMaxQueuedEvents = 10_000;

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

export class EventStream<T extends QmpAnyEvent> implements AsyncIterableIterator<T>, EventSink {
  private readonly accepts: (event: QmpAnyEvent) => boolean;
  private unsubscribe: (() => void) | undefined;
  private readonly queue: T[] = [];
  private readonly waiters: Waiter<T>[] = [];
  private ended = false;
  private failure: unknown;

  private readonly signal: AbortSignal | undefined;
  private readonly maxQueued: number;
  private readonly abort = (): void => {
    this.fail(new QmpError('QMP_ABORTED', 'QMP event stream was aborted', { cause: this.signal?.reason }));
  };

  constructor(
    accepts: (event: QmpAnyEvent) => boolean,
    subscribe: (sink: EventSink) => () => void,
    signal?: AbortSignal,
    maxQueued = defaultMaxQueuedEvents,
  ) {
    this.accepts = accepts;
    this.signal = signal;
    this.maxQueued = maxQueued;
    const unsubscribe = subscribe(this);
    // The session may already be over, in which case subscribe() has ended this stream.
    if (this.ended) {
      unsubscribe();
      return;
    }
    this.unsubscribe = unsubscribe;
    if (signal?.aborted) this.abort();
    else signal?.addEventListener('abort', this.abort, { once: true });
  }

  deliver(event: QmpAnyEvent): void {
    if (this.ended || !this.accepts(event)) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve({ value: event as T, done: false });
    else if (this.queue.length < this.maxQueued) this.queue.push(event as T);
    else {
      // Dropping events silently could hide the one a caller waits for: the stream fails instead.
      this.fail(
        new QmpError(
          'QMP_EVENTS_OVERFLOW',
          `QMP event stream ended: ${this.maxQueued} events were buffered unread (the last was ${event.event.slice(0, 100)})`,
        ),
      );
    }
  }

  end(reason: QmpError | undefined): void {
    const failure =
      reason === undefined
        ? undefined
        : new QmpError('QMP_DISCONNECTED', `QMP event stream ended: ${reason.message}`, { cause: reason });
    this.finish(failure);
  }

  /** Ends the stream with an error right away, dropping buffered events (used on abort). */
  fail(error: unknown): void {
    this.queue.length = 0;
    this.finish(error);
  }

  next(): Promise<IteratorResult<T>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.ended) {
      return this.failure === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.failure);
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.finish(undefined);
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(failure: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    this.unsubscribe?.();
    this.signal?.removeEventListener('abort', this.abort);
    for (const waiter of this.waiters.splice(0)) {
      if (failure === undefined) waiter.resolve({ value: undefined, done: true });
      else waiter.reject(failure);
    }
  }
}
