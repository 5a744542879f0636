// GET /metrics: the agent's Prometheus registry (metrics/registry.ts) in the text format,
// behind the same authentication as every API route, so a scraper needs a (read-only) token.
import type { FastifyPluginAsync } from 'fastify';
import type { AgentMetrics } from '../../metrics/registry.js';

export const metricsRoutes =
  (m: AgentMetrics): FastifyPluginAsync =>
  async (app) => {
    app.get('/metrics', async (_req, reply) => {
      const register = await m.registry();
      const text = await register.metrics();
      return reply.type(register.contentType).send(text);
    });
  };
