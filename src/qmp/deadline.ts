// One helper for "this wait ends on a timeout or an AbortSignal, whichever comes first", shared by
// commands, event waits and connecting. It owns the timer and the abort listener and always removes
// both, so a finished command leaves nothing behind that keeps Node alive or fires late.

export interface DeadlineOptions {
  /** Milliseconds; `undefined` or `Infinity` means no timer (the signal may still end the wait). */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface DeadlineHandlers {
  onTimeout(): void;
  onAbort(reason: unknown): void;
}

/** Arms the deadline and returns its disposer. An already-aborted signal fires `onAbort` at once. */
export function watchDeadline(options: DeadlineOptions, handlers: DeadlineHandlers): () => void {
  const { timeoutMs, signal } = options;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const dispose = (): void => {
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', abort);
  };
  const abort = (): void => {
    if (done) return;
    dispose();
    handlers.onAbort(signal?.reason);
  };
  if (signal?.aborted) {
    abort();
    return dispose;
  }
  signal?.addEventListener('abort', abort, { once: true });
  if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
    timer = setTimeout(
      () => {
        if (done) return;
        dispose();
        handlers.onTimeout();
      },
      Math.max(0, timeoutMs),
    );
  }
  return dispose;
}
