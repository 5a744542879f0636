// /v1/pools: storage pools and their volumes (virsh pool-list, pool-define, pool-info,
// vol-list, vol-create, vol-delete, vol-info).
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PoolInfo, POOL_NAME, VolumeCreate, VolumeInfo } from '../../../protocol/storage.js';
import type { AgentServices } from '../../services.js';

const PoolParams = z.object({ pool: z.string().regex(POOL_NAME, 'not a valid pool name') });
const VolParams = PoolParams.extend({ volume: z.string().min(1).max(255) });
const Problem = z.object({ code: z.string(), message: z.string() });
const Ok = z.object({ ok: z.literal(true) });

export const poolRoutes =
  (s: AgentServices): FastifyPluginAsync =>
  async (app0) => {
    const app = app0.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/pools',
      {
        schema: {
          response: {
            200: z.object({
              pools: z.array(PoolInfo),
              problems: z.array(Problem.extend({ pool: z.string() })),
            }),
          },
        },
      },
      async () => {
        const l = await s.storage.listPools();
        return {
          pools: l.pools,
          problems: l.problems.map((p) => ({ pool: p.pool, code: p.error.code, message: p.error.message })),
        };
      },
    );
    app.post(
      '/v1/pools',
      { config: { audit: 'pool.define' }, schema: { body: z.unknown(), response: { 201: PoolInfo } } },
      async (req, reply) => reply.status(201).send(await s.storage.definePool(req.body)),
    );
    app.get('/v1/pools/:pool', { schema: { params: PoolParams, response: { 200: PoolInfo } } }, async (req) =>
      s.storage.poolInfo(req.params.pool),
    );
    app.delete(
      '/v1/pools/:pool',
      {
        config: { audit: 'pool.undefine' },
        schema: {
          params: PoolParams,
          querystring: z.object({
            force: z
              .enum(['true', 'false'])
              .default('false')
              .transform((v) => v === 'true'),
          }),
          response: { 200: Ok },
        },
      },
      async (req) => {
        s.assertPoolUnused(req.params.pool);
        await s.storage.undefinePool(req.params.pool, { force: req.query.force });
        return { ok: true as const };
      },
    );
    app.get(
      '/v1/pools/:pool/volumes',
      {
        schema: {
          params: PoolParams,
          response: {
            200: z.object({
              volumes: z.array(VolumeInfo),
              problems: z.array(Problem.extend({ volume: z.string() })),
            }),
          },
        },
      },
      async (req) => {
        const l = await s.storage.listVolumes(req.params.pool);
        return {
          volumes: l.volumes,
          problems: l.problems.map((p) => ({
            volume: p.volume,
            code: p.error.code,
            message: p.error.message,
          })),
        };
      },
    );
    app.post(
      '/v1/pools/:pool/volumes',
      {
        config: { audit: 'volume.create' },
        schema: {
          params: PoolParams,
          body: VolumeCreate.extend({ name: z.string(), allowOvercommit: z.boolean().optional() }),
          response: { 201: VolumeInfo },
        },
      },
      async (req, reply) => {
        const { allowOvercommit, ...create } = req.body;
        return reply.status(201).send(
          await s.storage.createVolume(req.params.pool, create, {
            allowOvercommit: allowOvercommit === true,
          }),
        );
      },
    );
    app.get(
      '/v1/pools/:pool/volumes/:volume',
      { schema: { params: VolParams, response: { 200: VolumeInfo } } },
      async (req) => s.storage.volumeInfo(req.params.pool, req.params.volume),
    );
    app.delete(
      '/v1/pools/:pool/volumes/:volume',
      { config: { audit: 'volume.delete' }, schema: { params: VolParams, response: { 200: Ok } } },
      async (req) => {
        s.assertVolumeUnused(req.params.pool, req.params.volume);
        await s.storage.deleteVolume(req.params.pool, req.params.volume, { refuseIfOpen: true });
        return { ok: true as const };
      },
    );
  };
