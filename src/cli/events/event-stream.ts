// Opens an agent's event stream (/v1/events, SSE) for the CLI: the agent's CA, the client's
// token and, on a reconnect, Last-Event-ID. Used by the job follower and by the VM actions
// that show progress while their request runs (save, restore, shutdown).
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { AgentClient } from '../../client/agent-client.js';

/** A dispatcher for event streams: the agent writes a keep-alive every 15 s, so 45 s of silence is a dead stream. */
export function eventDispatcher(c: AgentClient): Agent {
  return new Agent({
    connect: c.conn.ca ? { ca: readFileSync(c.conn.ca) } : {},
    connectTimeout: 5_000,
    headersTimeout: 10_000,
    bodyTimeout: 45_000,
  });
}

/** The open stream's body; throws when it cannot be opened (refused, not 200). */
export async function openEventStream(
  c: AgentClient,
  dispatcher: Agent,
  lastId?: string,
): Promise<AsyncIterable<Buffer> & { destroy(): void }> {
  const res = await request(new URL('/v1/events', c.conn.url), {
    dispatcher,
    headers: {
      accept: 'text/event-stream',
      ...(c.conn.token ? { authorization: `Bearer ${c.conn.token}` } : {}),
      ...(lastId ? { 'last-event-id': lastId } : {}),
    },
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    throw new Error(`HTTP ${res.statusCode}`);
  }
  return res.body;
}
