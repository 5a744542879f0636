// The target's half of the commit's time limit (issue 13, F14). The source waits for the commit
// at most its `commitWindowMs` and then may run the VM again (`vmhop job resolve --force`, once
// an operator decides), so a finish that reaches the target later must not commit: a target
// agent frozen (SIGSTOP, a stalled VM host) past the window would otherwise wake up, commit the
// queued finish and run the guest a second time. The target cannot trust the arrival of the
// request (it sat in the socket while the agent was frozen), so the window is measured from
// its QEMU's own MIGRATION `completed` event, stamped by QEMU, which is not frozen with the agent.
// The stamp precedes the source's first finish, so a finish the target takes in time was also
// in time for the source. Both clocks are this host's: no clock is shared between hosts.
import { timestampMs, type QmpSession } from '../../../qmp/index.js';

/** What the target allows when the source did not say (a source of an older release). */
export const DEFAULT_COMMIT_WINDOW_MS = 60_000;

export class CommitWindows {
  private readonly completedAt = new Map<string, number>();
  private readonly windows = new Map<string, number>();
  private readonly watchers = new Map<string, AbortController>();

  /** From migrate-incoming on: remembers when QEMU says the incoming migration completed. */
  watch(jobId: string, qmp: Pick<QmpSession, 'events'>, windowMs = DEFAULT_COMMIT_WINDOW_MS): void {
    this.windows.set(jobId, windowMs);
    const stop = new AbortController();
    this.watchers.set(jobId, stop);
    void (async () => {
      for await (const e of qmp.events(['MIGRATION'], { signal: stop.signal })) {
        if (e.data.status === 'completed') {
          this.completedAt.set(jobId, timestampMs(e.timestamp));
          return;
        }
      }
    })()
      .catch(() => undefined) // the session ended or the watch was stopped: no stamp, see lateBy
      .finally(() => this.watchers.delete(jobId));
  }

  /**
   * How far past the window a commit now would be, or undefined when it is in time. Without a
   * stamp (no event seen) the commit is in time: refusing it would fail every migration of a
   * QEMU that sends no events, and the agent that took it was not frozen past the event.
   */
  lateBy(jobId: string, now = Date.now()): { lateMs: number; windowMs: number } | undefined {
    const at = this.completedAt.get(jobId);
    const windowMs = this.windows.get(jobId) ?? DEFAULT_COMMIT_WINDOW_MS;
    if (at === undefined || now - at <= windowMs) return undefined;
    return { lateMs: now - at - windowMs, windowMs };
  }

  forget(jobId: string): void {
    this.watchers.get(jobId)?.abort();
    this.completedAt.delete(jobId);
    this.windows.delete(jobId);
  }

  close(): void {
    for (const w of this.watchers.values()) w.abort();
  }
}
