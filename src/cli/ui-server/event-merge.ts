// /api/events: the SSE streams of the chosen agents merged into one, each event tagged with
// its host. One stream rather than one per host, because a browser allows only six HTTP/1.1
// connections per server and every open SSE stream holds one for good. The SSE id is each
// host's last event id ("a=12&b=40"), so a reconnecting browser resumes every agent, and a
// host whose stream dropped is followed again, with a `resync` event once it is back.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { AgentProxy } from './proxy.js';
import { sseFrames } from '../events/sse-frames.js';

const RETRY_MS = 3_000;
const KEEPALIVE_MS = 15_000;

export function mergeEvents(proxy: AgentProxy, hosts: string[], req: IncomingMessage, res: ServerResponse) {
  const ids = new Map(new URLSearchParams(String(req.headers['last-event-id'] ?? '')));
  const abort = new AbortController();
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(': vmhop ui events\n\n');
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS);
  res.on('close', () => {
    clearInterval(keepAlive);
    abort.abort();
  });

  const send = (host: string, event: string, data: Record<string, unknown>, id?: string) => {
    if (id !== undefined) ids.set(host, id);
    const composite = new URLSearchParams([...ids]).toString();
    res.write(`id: ${composite}\nevent: ${event}\ndata: ${JSON.stringify({ ...data, host })}\n\n`);
  };

  const follow = async (host: string) => {
    let dropped = false;
    while (!abort.signal.aborted) {
      try {
        const last = ids.get(host);
        const up = await proxy.open(host, '/v1/events', {
          method: 'GET',
          headers: { accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) },
          signal: abort.signal,
        });
        if (up.statusCode !== 200)
          throw new Error(`HTTP ${up.statusCode}: ${(await up.body.text()).slice(0, 200)}`);
        if (dropped) send(host, 'resync', { type: 'resync', reason: 'the agent stream is back' });
        for await (const f of sseFrames(up.body as AsyncIterable<Buffer>)) {
          if (f.event && f.data) send(host, f.event, JSON.parse(f.data) as Record<string, unknown>, f.id);
        }
      } catch {
        // unreachable or dropped: the Hosts page shows why; here we only try again
      }
      dropped = true;
      await delay(RETRY_MS, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  };
  for (const h of hosts) void follow(h);
}
