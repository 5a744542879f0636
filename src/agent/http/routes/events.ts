// /v1/events: the agent's server-sent event stream. A client that reconnects with
// Last-Event-ID gets what it missed, or a `resync` event when too much was missed.
import type { FastifyPluginAsync } from 'fastify';
import type { AgentEvent } from '../../../protocol/events.js';
import type { AgentServices } from '../../services.js';

const frame = (e: AgentEvent) => `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

export const eventRoutes =
  (s: AgentServices): FastifyPluginAsync =>
  async (app) => {
    app.get('/v1/events', { schema: { hide: true } }, (req, reply) => {
      const last = Number(req.headers['last-event-id'] ?? NaN);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      res.write(': vmhop events\n\n');
      if (Number.isFinite(last)) {
        const missed = s.events.since(last);
        if (missed) for (const e of missed) res.write(frame(e));
        else
          res.write(
            `event: resync\ndata: ${JSON.stringify({ type: 'resync', reason: 'events were missed' })}\n\n`,
          );
      }
      const unsubscribe = s.events.subscribe((e) => res.write(frame(e)));
      // Proxies and idle timeouts close silent streams; a comment line every 15 s keeps it open.
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      req.raw.on('close', () => {
        clearInterval(keepAlive);
        unsubscribe();
      });
    });
  };
