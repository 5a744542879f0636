// /v1/migrations and /v1/jobs: start a migration (202 once it runs; 200 with the pre-flight
// for a dry run), follow it, list the history, cancel (virsh domjobinfo/domjobabort), switch to
// post-copy, and change a running one's speed (virsh migrate-setspeed/-setmaxdowntime/-getspeed).
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { JobSpeed, SetMaxDowntimeRequest, SetSpeedRequest } from '../../../protocol/job-speed.js';
import { JobInfo, MigrateRequest, PreflightCheck, TargetPool } from '../../../protocol/migration.js';
import { Prediction } from '../../../protocol/prediction.js';
import { VM_NAME } from '../../../protocol/vm-spec.js';
import type { AgentServices } from '../../services.js';

const Id = z.object({ id: z.string().uuid('not a job id') });
const Name = z.object({ name: z.string().regex(VM_NAME) });
/** Newest first; `cursor` is the previous page's `nextCursor`. 200 by default, as before paging. */
const JobListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1_000).default(200),
  cursor: z.string().min(1).max(200).optional(),
});

export const jobRoutes =
  (s: AgentServices): FastifyPluginAsync =>
  async (app0) => {
    const app = app0.withTypeProvider<ZodTypeProvider>();
    app.post(
      '/v1/migrations',
      {
        config: { audit: 'migration.start' },
        schema: {
          body: MigrateRequest,
          response: {
            200: z.object({ preflight: z.array(PreflightCheck), prediction: Prediction.optional() }),
            202: z.object({ job: JobInfo, preflight: z.array(PreflightCheck) }),
          },
        },
      },
      async (req, reply) => {
        const r = await s.engine.start(req.body);
        if (!r.job) return reply.status(200).send({ preflight: r.preflight, prediction: r.prediction });
        return reply.status(202).send({ job: r.job, preflight: r.preflight });
      },
    );
    app.get(
      '/v1/jobs',
      {
        schema: {
          querystring: JobListQuery,
          response: { 200: z.object({ jobs: z.array(JobInfo), nextCursor: z.string().optional() }) },
        },
      },
      async (req) => {
        const page = s.jobStore.page(req.query);
        return {
          jobs: page.jobs.map((j) => s.engine.info(j.id)),
          ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
        };
      },
    );
    app.get(
      '/v1/jobs/:id',
      {
        schema: {
          params: Id,
          response: {
            200: JobInfo.extend({ journal: z.array(z.object({ at: z.string(), entry: z.string() })) }),
          },
        },
      },
      async (req) => ({
        ...s.engine.info(req.params.id),
        journal: s.jobStore.journalOf(req.params.id),
      }),
    );
    app.post(
      '/v1/jobs/:id/abort',
      { config: { audit: 'migration.abort' }, schema: { params: Id, response: { 200: JobInfo } } },
      async (req) => s.engine.abort(req.params.id),
    );
    app.post(
      '/v1/volumes/copy',
      {
        config: { audit: 'volume.copy' },
        schema: {
          body: z.object({
            pool: z.string().min(1),
            volume: z.string().min(1),
            to: z.string().min(1),
            targetPool: TargetPool.optional(),
          }),
          response: { 202: JobInfo },
        },
      },
      async (req, reply) => reply.status(202).send(await s.engine.copyVolume(req.body)),
    );
    app.post(
      '/v1/jobs/:id/resume',
      { config: { audit: 'migration.resume' }, schema: { params: Id, response: { 200: JobInfo } } },
      async (req) => s.engine.resume(req.params.id),
    );
    app.post(
      '/v1/jobs/:id/resolve',
      {
        config: { audit: 'migration.resolve' },
        schema: {
          params: Id,
          body: z.object({ runs: z.enum(['source', 'target']), force: z.boolean().default(false) }).strict(),
          response: { 200: JobInfo },
        },
      },
      async (req) => s.engine.resolve(req.params.id, req.body.runs, req.body.force),
    );
    app.get(
      '/v1/vms/:name/job',
      { schema: { params: Name, response: { 200: z.object({ job: JobInfo.nullable() }) } } },
      async (req) => ({
        job: s.engine.currentFor(req.params.name) ?? null,
      }),
    );
    app.post(
      '/v1/vms/:name/job/abort',
      { config: { audit: 'migration.abort' }, schema: { params: Name, response: { 200: JobInfo } } },
      async (req) => s.engine.abortVm(req.params.name),
    );
    app.post(
      '/v1/jobs/:id/postcopy',
      { config: { audit: 'migration.postcopy' }, schema: { params: Id, response: { 200: JobInfo } } },
      async (req) => s.engine.startPostcopy(req.params.id),
    );
    app.post(
      '/v1/vms/:name/job/postcopy',
      { config: { audit: 'migration.postcopy' }, schema: { params: Name, response: { 200: JobInfo } } },
      async (req) => s.engine.startPostcopyVm(req.params.name),
    );
    // Speed: by job id and, as virsh, by VM name.
    const speed = { 200: JobSpeed };
    app.post(
      '/v1/jobs/:id/speed',
      {
        config: { audit: 'migration.setspeed' },
        schema: { params: Id, body: SetSpeedRequest, response: speed },
      },
      async (req) => s.engine.setSpeed(req.params.id, req.body.mibPerS),
    );
    app.post(
      '/v1/jobs/:id/max-downtime',
      {
        config: { audit: 'migration.setmaxdowntime' },
        schema: { params: Id, body: SetMaxDowntimeRequest, response: speed },
      },
      async (req) => s.engine.setMaxDowntime(req.params.id, req.body.ms),
    );
    app.get('/v1/jobs/:id/speed', { schema: { params: Id, response: speed } }, async (req) =>
      s.engine.getSpeed(req.params.id),
    );
    app.post(
      '/v1/vms/:name/job/speed',
      {
        config: { audit: 'migration.setspeed' },
        schema: { params: Name, body: SetSpeedRequest, response: speed },
      },
      async (req) => s.engine.setSpeedVm(req.params.name, req.body.mibPerS),
    );
    app.post(
      '/v1/vms/:name/job/max-downtime',
      {
        config: { audit: 'migration.setmaxdowntime' },
        schema: { params: Name, body: SetMaxDowntimeRequest, response: speed },
      },
      async (req) => s.engine.setMaxDowntimeVm(req.params.name, req.body.ms),
    );
    app.get('/v1/vms/:name/job/speed', { schema: { params: Name, response: speed } }, async (req) =>
      s.engine.getSpeedVm(req.params.name),
    );
  };
