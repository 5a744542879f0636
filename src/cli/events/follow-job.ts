// Follows one job on its agent by the agent's event stream (/v1/events, SSE): progress as each
// `job.progress` event arrives, the end the moment `job.ended` does. The job itself is read
// only when a stream opens (after it is open, so an end in between is not missed) and at the
// end. A broken stream is reopened with Last-Event-ID, at most reconnectTries times in a row;
// when that fails as well (an agent without /v1/events, a proxy that buffers), the job is polled.
import { setTimeout as delay } from 'node:timers/promises';
import type { AgentClient } from '../../client/agent-client.js';
import type { JobInfo, Progress } from '../../protocol/migration.js';
import { eventDispatcher, openEventStream } from './event-stream.js';
import { sseFrames } from './sse-frames.js';

export interface FollowOptions {
  onProgress: (p: Progress) => void;
  /** Reopened streams in a row before falling back to polling. */
  reconnectTries?: number;
  /** Between reopening tries, doubled each time. */
  retryMs?: number;
  /** The fallback's interval. */
  pollMs?: number;
}

type JobEvent = { type: string; job?: string; data?: unknown };

export async function followJob(c: AgentClient, id: string, o: FollowOptions): Promise<JobInfo> {
  const get = () => c.call<JobInfo>('GET', `/v1/jobs/${encodeURIComponent(id)}`);
  const dispatcher = eventDispatcher(c);
  const tries = o.reconnectTries ?? 5;
  let lastId: string | undefined;
  let failed = 0;
  try {
    while (failed <= tries) {
      if (failed > 0) await delay((o.retryMs ?? 250) * 2 ** (failed - 1));
      let body: AsyncIterable<Buffer>;
      try {
        body = await openEventStream(c, dispatcher, lastId);
      } catch {
        failed++;
        continue;
      }
      const job = await get();
      if (job.state !== 'running') return job;
      if (job.progress) o.onProgress(job.progress);
      try {
        for await (const f of sseFrames(body)) {
          if (f.id) lastId = f.id;
          failed = 0;
          const e = JSON.parse(f.data || '{}') as JobEvent;
          if (e.type === 'resync' || (e.type === 'job.ended' && e.job === id)) {
            const now = await get();
            if (now.state !== 'running') return now;
          } else if (e.type === 'job.progress' && e.job === id) {
            o.onProgress(e.data as Progress);
          }
        }
      } catch {
        // cut off, or silent too long: reopen below
      }
      failed++;
    }
    return await pollJob(get, o);
  } finally {
    await dispatcher.destroy();
  }
}

async function pollJob(get: () => Promise<JobInfo>, o: FollowOptions): Promise<JobInfo> {
  for (;;) {
    const job = await get();
    if (job.state !== 'running') return job;
    if (job.progress) o.onProgress(job.progress);
    await delay(o.pollMs ?? 500);
  }
}
