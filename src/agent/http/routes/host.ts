// /v1/host: what this host is and can do (versions, CPU models, machine types, memory,
// pools, VM count). The UI and pre-flight checks read it.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { HostInfo } from '../../../protocol/host.js';
import type { AgentServices } from '../../services.js';

export const hostRoutes =
  (s: AgentServices): FastifyPluginAsync =>
  async (app0) => {
    const app = app0.withTypeProvider<ZodTypeProvider>();
    app.get('/v1/host', { schema: { response: { 200: HostInfo } } }, async () => s.hostInfo());
  };
