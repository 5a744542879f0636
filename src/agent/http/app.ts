// The agent's HTTP/JSON API: fastify with zod schemas (the same ones the CLI and UI use),
// an OpenAPI document at /openapi.json (openapi.ts), Prometheus metrics at /metrics, token or
// mutual-TLS authentication on every route but /health and /openapi.json, and errors as
// {error: {code, message, details}}. Every request is logged with the name of its token or
// peer; every route but GET is audited (audit-hook.ts); each migration's start and end is
// one log line (audit/migration-log.ts).
import { randomUUID } from 'node:crypto';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { assertMayWrite, authenticate, whoOf, type AuthConfig } from './auth.js';
import { installAuditAndRequestLog } from './audit-hook.js';
import { errorHandler } from './errors.js';
import { serializerCompiler, validatorCompiler } from './zod-compilers.js';
import { AuditStore } from '../db/audit-store.js';
import { TokenStore } from '../db/token-store.js';
import { auditJobEnds } from '../audit/job-ends.js';
import { logMigrationEnds, logMigrationStart } from '../audit/migration-log.js';
import { agentMetrics } from '../metrics/registry.js';
import { OPEN_ROUTES, openapiHandler } from './openapi.js';
import { metricsRoutes } from './routes/metrics.js';
import type { AgentServices } from '../services.js';
import { hostRoutes } from './routes/host.js';
import { eventRoutes } from './routes/events.js';
import { vmRoutes } from './routes/vms.js';
import { poolRoutes } from './routes/pools.js';
import { peerRoutes } from './routes/peer.js';
import { peerLinkProbeRoutes } from './routes/peer-link-probe.js';
import { jobRoutes } from './routes/jobs.js';
import { auditRoutes } from './routes/audit.js';
import { drainRoutes } from './routes/drain.js';
import { vncRoutes } from './routes/vnc.js';

export interface AppOptions {
  services: AgentServices;
  auth: AuthConfig;
  logger?: Logger | false;
  https?: { key: Buffer; cert: Buffer; ca: Buffer };
}

/** Typed by fastify for ajv and fast-json-stringify only; zod's compilers answer the same calls. */
const zodCompilers = {
  buildValidator: () => validatorCompiler,
  buildSerializer: () => serializerCompiler,
} as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

export async function buildApp(opts: AppOptions) {
  const app = Fastify({
    loggerInstance: (opts.logger || undefined) as FastifyBaseLogger | undefined,
    bodyLimit: 4 * 1024 * 1024,
    // One line per request from audit-hook.ts instead, naming the token or peer.
    logController: new LogController({ disableRequestLogging: true }),
    // Unique across restarts: the audit log keeps request ids.
    genReqId: () => randomUUID(),
    // zod validates and serializes every route (below): fastify's default compilers, ajv and
    // fast-json-stringify, would be loaded for nothing, a good part of an idle agent's heap.
    schemaController: { compilersFactory: zodCompilers },
    ...(opts.https
      ? {
          https: {
            ...opts.https,
            requestCert: true,
            rejectUnauthorized: false,
            minVersion: 'TLSv1.2' as const,
          },
        }
      : {}),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({
      error: {
        code: 'VMHOP_ERR_ROUTE_NOT_FOUND',
        message: `no such API route: ${req.method} ${req.url}`,
        details: {},
      },
    });
  });
  const openapi = openapiHandler(app);
  const s = opts.services;
  const audit = new AuditStore(s.db);
  const tokens = new TokenStore(s.db);
  const auth: AuthConfig = { namedTokens: () => tokens.list(), ...opts.auth };
  installAuditAndRequestLog(app, audit);
  const unsubscribe = auditJobEnds({ events: s.events, jobs: s.jobStore, audit, log: s.log });
  const stopLog = logMigrationEnds({
    events: s.events,
    jobs: s.jobStore,
    audit,
    log: app.log,
    host: s.config.name,
  });
  const metrics = agentMetrics(s);
  app.addHook('onClose', async () => {
    unsubscribe();
    stopLog();
    metrics.close();
  });
  app.addHook('onResponse', async (req, reply) => logJobStart(s, req, reply));
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
    const path = req.url.split('?')[0] ?? '';
    if (OPEN_ROUTES.includes(path) || req.routeOptions.config.ticketAuth) return;
    // The matched route, not the URL text: the router percent-decodes the path before matching.
    req.principal = authenticate(req, auth, req.routeOptions.url?.startsWith('/v1/peer/') === true);
  });
  // After parsing, so a refused change is audited with what it would have changed.
  app.addHook('preValidation', async (req) => assertMayWrite(req));
  app.get('/health', async () => ({ ok: true }));
  app.get('/openapi.json', openapi);
  await app.register(metricsRoutes(metrics));
  await app.register(hostRoutes(s));
  await app.register(eventRoutes(s));
  await app.register(vmRoutes(s));
  await app.register(poolRoutes(s));
  await app.register(peerRoutes(s));
  await app.register(peerLinkProbeRoutes(s));
  await app.register(jobRoutes(s));
  await app.register(auditRoutes(audit));
  await app.register(drainRoutes(s));
  await app.register(vncRoutes(s));
  return app;
}

/** The start line of a job this request created here: a migration or volume copy (source), a prepare (target). */
function logJobStart(s: AgentServices, req: FastifyRequest, reply: FastifyReply): void {
  const action = req.routeOptions.config.audit;
  const created =
    action === 'migration.prepare'
      ? reply.statusCode === 200
      : (action === 'migration.start' || action === 'volume.copy') && reply.statusCode === 202;
  if (!created) return;
  try {
    const answer = JSON.parse(req.auditPayload ?? '{}') as { job?: { id?: string }; id?: string };
    const id = (req.body as { jobId?: string } | undefined)?.jobId ?? answer.job?.id ?? answer.id;
    const job = id ? s.jobStore.find(id) : undefined;
    if (job)
      logMigrationStart({ log: req.server.log, host: s.config.name }, job, whoOf(req.principal)?.who ?? '-');
  } catch (err) {
    req.log.warn({ err }, 'migration log: the start line of this request could not be written');
  }
}

export type App = Awaited<ReturnType<typeof buildApp>>;
