// The real pause of a live migration, as QEMU saw it: the source's STOP event to the target's
// RESUME event, both stamped by QEMU (same machine, same clock). The source is watched through
// a QMP session the caller has (raw QEMU) or a socket (the agent's observer monitor); the
// target's socket is connected to as soon as its QEMU exists (it starts paused, -incoming).
import { QmpSession, timestampMs, type QmpAnyEvent } from '../src/qmp/index.js';

type Source = QmpSession | string;

export interface PauseWatch {
  /** STOP→RESUME in ms, or null with why; ends the watch. */
  stop(): Promise<{ realPauseMs: number | null; why?: string; stoppedAt?: number; resumedAt?: number }>;
}

async function collect(session: QmpSession, name: 'STOP' | 'RESUME', into: number[], signal: AbortSignal) {
  try {
    for await (const e of session.events([name], { signal }) as AsyncIterable<QmpAnyEvent>)
      into.push(timestampMs(e.timestamp));
  } catch {
    // the watch was stopped or QEMU exited: what was collected stands
  }
}

/** The target's QEMU appears only when the tool prepares it (after its pre-flight): keep trying until then. */
async function connectWhenThere(path: string, deadline: number, signal: AbortSignal): Promise<QmpSession> {
  for (;;) {
    try {
      return await QmpSession.connect(path, { timeoutMs: 2_000, signal, retryIntervalMs: 20 });
    } catch (e) {
      if (signal.aborted || Date.now() > deadline) throw e;
    }
  }
}

export async function watchPause(
  source: Source,
  targetSocket: string,
  connectTimeoutMs = 120_000,
): Promise<PauseWatch> {
  const abort = new AbortController();
  const stops: number[] = [];
  const resumes: number[] = [];
  const owned: QmpSession[] = [];
  const src = typeof source === 'string' ? await QmpSession.connect(source) : source;
  if (typeof source === 'string') owned.push(src);
  void collect(src, 'STOP', stops, abort.signal);
  const target = connectWhenThere(targetSocket, Date.now() + connectTimeoutMs, abort.signal).then(
    (s) => {
      owned.push(s);
      void collect(s, 'RESUME', resumes, abort.signal);
      return s;
    },
    (e: unknown) => e as Error,
  );
  return {
    async stop() {
      abort.abort();
      const t = await target;
      await Promise.all(owned.map((s) => s.close().catch(() => undefined)));
      if (t instanceof Error) return { realPauseMs: null, why: `target monitor not reached: ${t.message}` };
      const resumedAt = resumes[0];
      const stoppedAt = stops.filter((s) => resumedAt === undefined || s <= resumedAt).pop();
      if (resumedAt === undefined || stoppedAt === undefined)
        return { realPauseMs: null, why: `events seen: STOP ${stops.length}, RESUME ${resumes.length}` };
      return { realPauseMs: resumedAt - stoppedAt, stoppedAt, resumedAt };
    },
  };
}
