// A VM action that reports progress while its request runs (save, restore, shutdown): the event
// stream is opened first, so no event is missed, then the action is asked with a `progressId`
// of the CLI's own, and each `vm.progress` event carrying that id is handed on. The request's
// answer is the result; the stream only adds progress, and one that cannot be opened (an older
// agent, a proxy) leaves the action to run without it.
import { randomUUID } from 'node:crypto';
import type { AgentClient } from '../../client/agent-client.js';
import type { VmProgress } from '../../protocol/vm-progress.js';
import { eventDispatcher, openEventStream } from './event-stream.js';
import { sseFrames } from './sse-frames.js';

/** After the answer, how long the `ended` event may still take to come in on the stream. */
const LAST_EVENT_GRACE_MS = 500;

export async function withVmProgress<T>(
  c: AgentClient,
  onProgress: (p: VmProgress) => void,
  act: (progressId: string) => Promise<T>,
): Promise<T> {
  const progressId = randomUUID();
  const dispatcher = eventDispatcher(c);
  let sawEnd!: () => void;
  const ended = new Promise<void>((resolve) => (sawEnd = resolve));
  let body: Awaited<ReturnType<typeof openEventStream>> | undefined;
  try {
    body = await openEventStream(c, dispatcher).catch(() => undefined);
    const reading = body ? readProgress(body, progressId, onProgress, sawEnd) : Promise.resolve();
    try {
      return await act(progressId);
    } finally {
      // The stream and the answer travel on two connections: let the last event catch up.
      let timer: NodeJS.Timeout | undefined;
      if (body)
        await Promise.race([
          ended,
          reading,
          new Promise((r) => (timer = setTimeout(r, LAST_EVENT_GRACE_MS))),
        ]);
      clearTimeout(timer);
      body?.destroy();
      await reading;
    }
  } finally {
    await dispatcher.destroy();
  }
}

async function readProgress(
  body: AsyncIterable<Buffer>,
  progressId: string,
  onProgress: (p: VmProgress) => void,
  sawEnd: () => void,
): Promise<void> {
  try {
    for await (const f of sseFrames(body)) {
      if (f.event !== 'vm.progress') continue;
      const e = JSON.parse(f.data || '{}') as { progressId?: string; data?: VmProgress };
      if (e.progressId !== progressId || !e.data) continue;
      onProgress(e.data);
      if (e.data.ended) return sawEnd();
    }
  } catch {
    // Cut off or closed by us once the answer came: progress is only ever a display.
  }
}
