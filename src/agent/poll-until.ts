// The agent's one bounded poll, for waits that have no event to wait on: asks `check` every
// `intervalMs` until it returns a value, `deadlineMs` has passed (resolves undefined: the caller
// names what did not happen) or `signal` aborts (rejects with its reason). `check` may throw to
// end the wait with an error. The first check runs at once.
export interface PollOptions {
  intervalMs: number;
  deadlineMs: number;
  signal?: AbortSignal;
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
    await new Promise((r) => setTimeout(r, Math.min(o.intervalMs, left)));
  }
}
