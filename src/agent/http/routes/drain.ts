// /v1/host/drain*: `vmhop host drain HOST [--dry-run]`, `drain-status`, `drain-cancel` and
// `undrain [--return]` (issue 17 §1). The plan (GET drain-plan) is a read, open to read-only
// tokens; POST drain executes it (fleet/drain-runner.ts) and puts the host in maintenance;
// undrain lifts maintenance and, with `return`, names the VMs the last drain moved away.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { planDrain } from '../../../fleet/plan-drain.js';
import {
  DrainJob,
  DrainPlan,
  DrainPlanQuery,
  DrainStartRequest,
  UndrainReply,
} from '../../../protocol/drain.js';
import { VmhopError } from '../../../protocol/errors.js';
import { drainSnapshot } from '../../fleet/drain-snapshot.js';
import { drainRunnerOf } from '../../fleet/drain-runner.js';
import { undrain } from '../../fleet/undrain.js';
import type { AgentServices } from '../../services.js';

const Id = z.object({ id: z.string().uuid('not a drain id') });

export const drainRoutes =
  (s: AgentServices): FastifyPluginAsync =>
  async (app0) => {
    const app = app0.withTypeProvider<ZodTypeProvider>();
    const runner = drainRunnerOf(s);
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
            ...(q.linkBudgetMbps ? { linkBudgetBitsPerSecond: q.linkBudgetMbps * 1e6 } : {}),
          },
        });
        // No agent measures its link yet: the plan says which rate it assumed.
        return { ...plan, model: `${plan.model}; every link assumed at ${q.linkMbps} Mbit/s (linkMbps)` };
      },
    );
    app.post(
      '/v1/host/drain',
      {
        config: { audit: 'host.drain' },
        schema: { body: DrainStartRequest, response: { 202: DrainJob } },
      },
      async (req, reply) => reply.status(202).send(await runner.start(req.body)),
    );
    app.get('/v1/host/drain', { schema: { response: { 200: DrainJob } } }, async () =>
      runner.info(latestId(s, runner)),
    );
    app.get('/v1/host/drains/:id', { schema: { params: Id, response: { 200: DrainJob } } }, async (req) =>
      runner.info(req.params.id),
    );
    app.post(
      '/v1/host/drains/:id/cancel',
      { config: { audit: 'host.drain-cancel' }, schema: { params: Id, response: { 200: DrainJob } } },
      async (req) => runner.cancel(req.params.id),
    );
    app.post(
      '/v1/host/undrain',
      {
        config: { audit: 'host.undrain' },
        schema: {
          body: z.preprocess((b) => b ?? {}, z.object({ return: z.boolean().default(false) }).strict()),
          response: { 200: UndrainReply },
        },
      },
      async (req) => undrain(s, runner.store, req.body.return),
    );
  };

function latestId(s: AgentServices, runner: ReturnType<typeof drainRunnerOf>): string {
  const d = runner.store.latest();
  if (d) return d.id;
  throw new VmhopError(
    'VMHOP_ERR_DRAIN_NOT_FOUND',
    `host \`${s.config.name}\` has not been drained: \`vmhop host drain ${s.config.name} --dry-run\` shows the plan`,
    { host: s.config.name },
  );
}
