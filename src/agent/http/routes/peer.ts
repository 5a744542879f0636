// /v1/peer/*: what another agent asks of this one during a migration (mutual TLS only):
// host facts for pre-flight, the shared-storage probe, and the target side of a job. Any
// cluster agent may ask for facts; a job is created only by the agent its message names as
// source, and later calls on it are taken only from the agent the job names as its peer.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { VmhopError } from '../../../protocol/errors.js';
import { requirePeer } from '../auth.js';
import { PostcopyAction, PrepareRequest } from '../../peers/peer-link.js';
import {
  OFFLINE_COMMIT_BODY_LIMIT,
  OfflineCommitRequest,
  OfflinePrepareRequest,
} from '../../peers/offline-messages.js';
import { checkProtocol } from '../../migration/incoming/target-side.js';
import { plainAddress } from '../../migration/incoming/ram-gate.js';
import { refuseInMaintenance } from '../../fleet/maintenance.js';
import { listBridges } from '../../vm/network.js';
import type { AgentServices } from '../../services.js';

const Job = z.object({ id: z.string().uuid() });
const Versioned = z.object({ protocolVersion: z.number().int(), reason: z.string().max(2000).optional() });

export const peerRoutes =
  (s: AgentServices): FastifyPluginAsync =>
  async (app0) => {
    const app = app0.withTypeProvider<ZodTypeProvider>();
    /** The calling agent (its certificate's CN); undefined when auth is off (tests, loopback demo). */
    const caller = (req: FastifyRequest) => (req.principal?.kind === 'peer' ? req.principal.name : undefined);
    const notOfJob = (who: string, job: string, named: string) =>
      new VmhopError(
        'VMHOP_ERR_PEER_NOT_OF_JOB',
        `peer \`${who}\` may not act on job \`${job}\`: the job names \`${named}\` as its peer`,
        { peer: who, job },
      );
    /** A new job's source must be the agent asking for it. */
    const assertSource = (req: FastifyRequest, body: { jobId: string; source: string }) => {
      const who = caller(req);
      if (who !== undefined && who !== body.source) throw notOfJob(who, body.jobId, body.source);
    };
    /** A call on an existing job must come from the agent it names (its source, for a target job). */
    const assertJobPeer = (req: FastifyRequest, jobId: string) => {
      const who = caller(req);
      const job = who === undefined ? undefined : s.jobStore.find(jobId);
      if (who !== undefined && job && job.peer !== who) throw notOfJob(who, jobId, job.peer);
    };
    /** A live prepare makes its job: an id this host already has is refused, not a registry error (500). */
    const assertNewJob = (jobId: string) => {
      const job = s.jobStore.find(jobId);
      if (!job) return;
      throw new VmhopError(
        'VMHOP_ERR_MIGRATION_IN_PROGRESS',
        `job \`${jobId}\` already exists on this host (${job.mode} ${job.role} of \`${job.vm}\`, ${job.state}): a live migration is prepared once per job; start a new job`,
        { job: jobId, state: job.state },
      );
    };
    // Decided on the route that matched, never on the URL text: the router percent-decodes the
    // path, so `/v1/%70eer/host` reaches the peer routes while `req.url` does not say `/v1/peer/`.
    app.addHook('onRequest', async (req) => {
      if (req.routeOptions.url?.startsWith('/v1/peer/')) requirePeer(req);
    });
    app.get('/v1/peer/host', async () => ({
      ...(await s.hostInfo()),
      bridges: await listBridges(),
      vmNames: s.vmStore.list().map((v) => v.name),
    }));
    app.post(
      '/v1/peer/probe',
      {
        config: { audit: 'pool.probe' },
        schema: { body: Versioned.extend({ pool: z.string(), nonce: z.string() }) },
      },
      async (req) => {
        checkProtocol(req.body.protocolVersion);
        const pool = await s.storage.poolInfo(req.body.pool).catch(() => undefined);
        if (!pool || pool.kind !== 'shared') return { seen: false };
        return {
          seen: await s.storage.checkProbe(req.body.pool, req.body.nonce),
          ...(pool.markerId ? { markerId: pool.markerId } : {}),
        };
      },
    );
    app.get(
      '/v1/peer/pools/:pool/volumes/:name',
      { schema: { params: z.object({ pool: z.string(), name: z.string() }) } },
      async (req) => ({
        volume: await s.storage.volumeInfo(req.params.pool, req.params.name).catch(() => null),
      }),
    );
    app.post(
      '/v1/peer/migrations',
      { config: { audit: 'migration.prepare' }, schema: { body: PrepareRequest } },
      async (req) => {
        assertSource(req, req.body);
        assertJobPeer(req, req.body.jobId);
        assertNewJob(req.body.jobId);
        refuseInMaintenance(
          s.db,
          s.config.name,
          `an incoming migration of \`${req.body.spec.name}\` from \`${req.body.source}\``,
        );
        return s.engine.target.prepare(req.body, plainAddress(req.socket.remoteAddress));
      },
    );
    app.post(
      '/v1/peer/migrations/:id/finish',
      { config: { audit: 'migration.finish' }, schema: { params: Job, body: Versioned } },
      async (req) => {
        assertJobPeer(req, req.params.id);
        checkProtocol(req.body.protocolVersion);
        return { ok: true, ...(await s.engine.target.finish(req.params.id)) };
      },
    );
    app.post(
      '/v1/peer/migrations/:id/postcopy',
      {
        config: { audit: 'migration.postcopy' },
        schema: { params: Job, body: Versioned.extend({ action: PostcopyAction }) },
      },
      async (req) => {
        assertJobPeer(req, req.params.id);
        checkProtocol(req.body.protocolVersion);
        return s.engine.target.postcopy(
          req.params.id,
          req.body.action,
          plainAddress(req.socket.remoteAddress),
        );
      },
    );
    app.post(
      '/v1/peer/migrations/:id/abort',
      { config: { audit: 'migration.abort' }, schema: { params: Job, body: Versioned } },
      async (req) => {
        assertJobPeer(req, req.params.id);
        checkProtocol(req.body.protocolVersion);
        await s.engine.target.abort(req.params.id, req.body.reason ?? 'aborted by the source');
        return { ok: true };
      },
    );
    app.post(
      '/v1/peer/offline',
      { config: { audit: 'migration.prepare' }, schema: { body: OfflinePrepareRequest } },
      async (req) => {
        assertSource(req, req.body);
        assertJobPeer(req, req.body.jobId);
        // A volume copy brings no VM; an offline migration does.
        if (!req.body.volumeCopy)
          refuseInMaintenance(
            s.db,
            s.config.name,
            `an incoming offline migration of \`${req.body.vm}\` from \`${req.body.source}\``,
          );
        return s.engine.target.offline.prepare(req.body);
      },
    );
    app.post(
      '/v1/peer/offline/:id/commit',
      {
        config: { audit: 'migration.commit' },
        // The manifests of a large copy outgrow the API's 4 MiB; the onRequest hook above
        // refuses anyone but a peer agent before a byte of the body is read.
        bodyLimit: OFFLINE_COMMIT_BODY_LIMIT,
        schema: { params: Job, body: OfflineCommitRequest },
      },
      async (req) => {
        assertJobPeer(req, req.params.id);
        await s.engine.target.offline.commit({ ...req.body, jobId: req.params.id });
        return { ok: true };
      },
    );
    app.post(
      '/v1/peer/offline/:id/pause',
      { config: { audit: 'migration.pause' }, schema: { params: Job, body: Versioned } },
      async (req) => {
        assertJobPeer(req, req.params.id);
        checkProtocol(req.body.protocolVersion);
        await s.engine.target.offline.pause(req.params.id, req.body.reason ?? 'paused by the source');
        return { ok: true };
      },
    );
    app.get('/v1/peer/migrations/:id', { schema: { params: Job } }, async (req) => {
      assertJobPeer(req, req.params.id);
      return s.engine.info(req.params.id);
    });
  };
