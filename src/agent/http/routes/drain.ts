// /v1/host/drain-plan: `vmhop host drain HOST --dry-run` (issue 17 §1). The agent of the host to
// drain gathers its VMs and its peers' host facts (fleet/drain-snapshot.ts), the planner
// (src/fleet) says where each VM would go, how, in which order and when. Nothing moves: a read,
// open to read-only tokens. Executing a drain is not in this version.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { planDrain } from '../../../fleet/plan-drain.js';
import { DrainPlan, DrainPlanQuery } from '../../../protocol/drain.js';
import { drainSnapshot } from '../../fleet/drain-snapshot.js';
import type { AgentServices } from '../../services.js';

export const drainRoutes =
  (s: AgentServices): FastifyPluginAsync =>
  async (app0) => {
    const app = app0.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/host/drain-plan',
      { schema: { querystring: DrainPlanQuery, response: { 200: DrainPlan } } },
      async (req) => {
        const q = req.query;
        const to = q.to?.split(',');
        const linkBitsPerSecond = q.linkMbps * 1e6;
        const snapshot = await drainSnapshot(s, { ...(to ? { to } : {}), linkBitsPerSecond });
        const plan = planDrain(snapshot, {
          host: s.config.name,
          ...(to ? { allowedTargets: to } : {}),
          limits: {
            ...(q.maxPerHost ? { maxPerHost: q.maxPerHost } : {}),
            ...(q.maxPerLink ? { maxPerLink: q.maxPerLink } : {}),
            ...(q.reserveMiB !== undefined ? { memoryReserveBytes: q.reserveMiB * 1024 * 1024 } : {}),
          },
        });
        // No agent measures its link yet: the plan says which rate it assumed.
        return { ...plan, model: `${plan.model}; every link assumed at ${q.linkMbps} Mbit/s (linkMbps)` };
      },
    );
  };
