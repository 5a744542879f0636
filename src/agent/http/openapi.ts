// The agent's OpenAPI 3 document (/openapi.json) as @fastify/swagger builds it from the zod
// schemas, completed so a generator can use it: every route (the open ones and the SSE
// stream included), an operationId, summary and tag each (openapi-operations.ts), the bearer
// scheme, and each status a route can answer with the error shape and the codes behind it,
// statuses taken from the VMHOP_ERR_* catalogue. Built at the first GET /openapi.json, not at
// start-up: @fastify/swagger, its YAML library and fastify-type-provider-zod's zod-to-JSON-Schema
// are loaded then, so an idle agent carries none of it; the routes are collected as they are
// added, as @fastify/swagger itself does.
import type { FastifyDynamicSwaggerOptions, SwaggerTransform } from '@fastify/swagger';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import { errorCatalogue, type ErrorCode } from '../../protocol/errors.js';
import { operations, type Operation } from './openapi-operations.js';
import { serializerCompiler, validatorCompiler } from './zod-compilers.js';

/** Routes without authentication (app.ts lets them through before any check). */
export const OPEN_ROUTES = ['/health', '/openapi.json'];

const TAGS = [
  { name: 'agent', description: 'The agent itself: health, metrics, events, audit log' },
  { name: 'vms', description: 'VM definitions and lifecycle' },
  { name: 'pools', description: 'Storage pools and volumes' },
  { name: 'migrations', description: 'Migrations and volume copies as jobs' },
  { name: 'peer', description: 'Agent to agent (mutual TLS with a cluster certificate)' },
];

const errorSchema = (codes: ErrorCode[]) => ({
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', enum: codes },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
});

/** GET /a/:b/c -> getABC: for a route the table does not name (a new one). */
export function derivedOperationId(method: string, url: string): string {
  const words = url.split(/[^A-Za-z0-9]+/).filter((w) => w && w !== 'v1');
  return [method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}

/** The error codes a route can answer: its own, and those of validation, authentication and the unexpected. */
function errorCodesOf(
  method: string,
  url: string,
  schema: Record<string, unknown>,
  op?: Operation,
): ErrorCode[] {
  const codes = new Set<ErrorCode>(op?.errors ?? []);
  if (schema.params || schema.body || schema.querystring) codes.add('VMHOP_ERR_USAGE');
  if (schema.body) codes.add('VMHOP_ERR_REQUEST_TOO_LARGE');
  if (!OPEN_ROUTES.includes(url)) {
    codes.add('VMHOP_ERR_AUTH_MISSING').add('VMHOP_ERR_AUTH_INVALID');
    if (url.startsWith('/v1/peer/')) codes.add('VMHOP_ERR_PEER_ONLY').add('VMHOP_ERR_AUTH_PEER_CERT');
    else if (method !== 'GET') codes.add('VMHOP_ERR_AUTH_READ_ONLY');
  }
  codes.add('VMHOP_ERR_INTERNAL');
  return [...codes];
}

function errorResponses(codes: ErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of codes) {
    const status = errorCatalogue[c].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), c]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, cs]) => [
      status,
      {
        description: cs.map((c) => `${c}: ${errorCatalogue[c].summary}`).join('; '),
        ...errorSchema(cs),
      },
    ]),
  );
}

/** Bodies that are not JSON: the metrics text and the event stream. */
const TEXT_RESPONSES: Record<string, Record<string, unknown>> = {
  'GET /metrics': {
    description: 'Prometheus text exposition format 0.0.4',
    content: { 'text/plain': { schema: { type: 'string' } } },
  },
  'GET /v1/events': {
    description:
      'text/event-stream: frames `id: N`, `event: TYPE`, `data: JSON` (vm.state, vm.defined, vm.undefined, vm.progress, job.progress, job.ended, resync); send Last-Event-ID to resume',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  },
  'GET /health': {
    description: 'The agent answers',
    type: 'object',
    required: ['ok'],
    properties: { ok: { type: 'boolean', enum: [true] } },
  },
  'GET /openapi.json': { description: 'This document', type: 'object', additionalProperties: true },
};

/** Each route as the document shows it; `toJsonSchema` is fastify-type-provider-zod's transform. */
const transformWith =
  (toJsonSchema: SwaggerTransform): SwaggerTransform =>
  (args) => {
    const method = [args.route.method].flat()[0] ?? 'GET';
    const key = `${method} ${args.url}`;
    const op = operations[key];
    const raw = (args.schema ?? {}) as Record<string, unknown>;
    // The events route is hidden from nothing: every route is documented.
    const { schema } = toJsonSchema({ ...args, schema: { ...raw, hide: false } } as typeof args);
    const s = (schema ?? {}) as Record<string, unknown>;
    delete s.hide;
    const ok = TEXT_RESPONSES[key];
    return {
      url: args.url,
      schema: {
        ...s,
        operationId: op?.id ?? derivedOperationId(method, args.url),
        summary: op?.summary ?? `${method} ${args.url}`,
        tags: [op?.tag ?? (args.url.startsWith('/v1/peer/') ? 'peer' : 'agent')],
        ...(OPEN_ROUTES.includes(args.url) ? { security: [] } : {}),
        response: {
          ...(ok ? { 200: ok } : {}),
          ...(s.response as Record<string, unknown> | undefined),
          ...errorResponses(errorCodesOf(method, args.url, raw, op)),
        },
      },
    };
  };

export const swaggerOptions = (toJsonSchema: SwaggerTransform): FastifyDynamicSwaggerOptions => ({
  openapi: {
    openapi: '3.0.3',
    info: {
      title: 'vmhop agent API',
      version: '1',
      description:
        'One vmhop agent per host. Errors are {error: {code, message, details}} with stable VMHOP_ERR_* codes. Clients send a bearer token; peer agents present a cluster certificate (mutual TLS).',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A client token (vmhop-agent token add)' },
      },
    },
    security: [{ bearer: [] }],
    tags: TAGS,
  },
  transform: transformWith(toJsonSchema),
});

/**
 * Collects every route added to `app` from now on (call it before the routes, as one would
 * register @fastify/swagger) and returns the handler of GET /openapi.json for them.
 */
export function openapiHandler(app: FastifyInstance): () => Promise<unknown> {
  const routes: RouteOptions[] = [];
  // HEAD routes fastify adds by itself are left out, as @fastify/swagger leaves them out.
  app.addHook('onRoute', (r) => void (r.method !== 'HEAD' && routes.push(r)));
  let doc: Promise<unknown> | undefined;
  return () =>
    (doc ??= openapiDocument(routes).catch((err: unknown) => {
      doc = undefined; // built again at the next request, as @fastify/swagger would
      throw err;
    }));
}

/** The routes, schemas and config only, in a throwaway fastify with @fastify/swagger. */
async function openapiDocument(routes: readonly RouteOptions[]): Promise<unknown> {
  const { default: swagger } = await import('@fastify/swagger');
  const { jsonSchemaTransform } = await import('fastify-type-provider-zod');
  const shadow = Fastify();
  shadow.setValidatorCompiler(validatorCompiler);
  shadow.setSerializerCompiler(serializerCompiler);
  await shadow.register(swagger, swaggerOptions(jsonSchemaTransform as SwaggerTransform));
  for (const r of routes)
    shadow.route({
      method: r.method,
      url: r.url,
      ...(r.schema ? { schema: r.schema } : {}),
      ...(r.config ? { config: r.config } : {}),
      handler: () => undefined,
    });
  await shadow.ready();
  try {
    return shadow.swagger();
  } finally {
    await shadow.close();
  }
}
