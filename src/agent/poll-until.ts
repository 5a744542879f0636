// The agent's one bounded poll, for waits that have no event to wait on: asks `check` every
// `intervalMs` until it returns a value, `deadlineMs` has passed (resolves undefined: the caller
// names what did not happen) or `signal` aborts (rejects with its reason). `check` may throw to
// end the wait with an error. The first check runs at once.
export interface PollOptions {
  intervalMs: number;
  deadlineMs: number;
  signal?: AbortSignal;
  /**
   * Waits between two checks instead of sleeping `ms`, e.g. until QEMU's next event (at most
   * `ms`), so a change is seen when it happens rather than at the next tick.
   */
  wait?: (ms: number) => Promise<unknown>;
}

export async function pollUntil<T>(
  check: () => T | undefined | Promise<T | undefined>,
  o: PollOptions,
): Promise<T | undefined> {
  const until = Date.now() + o.deadlineMs;
  for (;;) {
    o.signal?.throwIfAborted();
    const value = await check();
    if (value !== undefined) return value;
    const left = until - Date.now();
    if (left <= 0) return undefined;
    const ms = Math.min(o.intervalMs, left);
    await (o.wait ? o.wait(ms) : new Promise((r) => setTimeout(r, ms)));
  }
}
