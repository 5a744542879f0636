// The routes the fuzzer covers, read from the app itself: every METHOD + path fastify serves
// (printRoutes), with its params, query and body from the OpenAPI document. A route added to
// the agent is fuzzed without a change here; one whose path parameter has no generator below,
// or a hidden route (not in /openapi.json) nobody has said how to fuzz, fails the suite.
import type { InjectOptions } from 'fastify';
import type { App } from '../../../src/agent/http/app.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';

export interface Route {
  method: Method;
  /** As fastify spells it: `/v1/vms/:name`. */
  path: string;
  params: string[];
  query: string[];
  hasBody: boolean;
  hidden: boolean;
  peer: boolean;
}

/**
 * Routes the fuzzer treats apart (all are in /openapi.json now): /health and /openapi.json are
 * open by design; /v1/events is a stream that never ends under inject(), so only its refusals
 * (no token, wrong token) are fuzzed.
 */
export const HIDDEN_ROUTES: Record<string, 'open' | 'refusals-only'> = {
  'GET /health': 'open',
  'GET /openapi.json': 'open',
  'GET /v1/events': 'refusals-only',
};

/** Parses printRoutes({commonPrefix: false}): a tree whose lines extend their parent's path. */
export function servedRoutes(app: App): { method: Method; path: string }[] {
  const out: { method: Method; path: string }[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[2];
    stack.push(path);
    for (const method of (m[3] ?? '').split(', ').filter(Boolean)) {
      if (method !== 'HEAD') out.push({ method: method as Method, path });
    }
  }
  return out;
}

interface OpenApiOp {
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
}

export async function catalogue(app: App): Promise<Route[]> {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' } as InjectOptions);
  const doc = res.json() as { paths: Record<string, Record<string, OpenApiOp>> };
  const routes: Route[] = [];
  for (const { method, path } of servedRoutes(app)) {
    const op = doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
    const key = `${method} ${path}`;
    if (!op && !(key in HIDDEN_ROUTES)) {
      throw new Error(`route ${key} is neither in /openapi.json nor in HIDDEN_ROUTES: say how to fuzz it`);
    }
    const params = [...path.matchAll(/:(\w+)/g)].map((x) => x[1] as string);
    for (const p of params) {
      if (!(p in PARAM_VALUES)) {
        throw new Error(`route ${key}: no generator for path parameter \`${p}\`; add it to PARAM_VALUES`);
      }
    }
    routes.push({
      method,
      path,
      params,
      query: (op?.parameters ?? []).filter((x) => x.in === 'query').map((x) => x.name),
      hasBody: op?.requestBody !== undefined,
      hidden: !op || key in HIDDEN_ROUTES,
      peer: path.startsWith('/v1/peer/'),
    });
  }
  return routes;
}

export const NO_JOB = '00000000-0000-4000-8000-000000000000';

/**
 * A valid value per path parameter: for reads one that exists (seeded by the test), for writes
 * one that does not, so a valid request never starts a QEMU or removes the seeded objects.
 */
export const PARAM_VALUES: Record<string, { read: string; write: string }> = {
  name: { read: 'web1', write: 'nosuchvm' },
  pool: { read: 'default', write: 'nosuchpool' },
  volume: { read: 'd1.qcow2', write: 'nosuch.qcow2' },
  id: { read: NO_JOB, write: NO_JOB },
};

/** Writes whose body needs the object of a parameter to exist (a volume is created in a pool). */
const EXISTING_FOR_WRITE: Record<string, Record<string, string>> = {
  'POST /v1/pools/:pool/volumes': { pool: 'default' },
};

/** The URL of `r` with every parameter valid but those in `over`, and `query`. */
export function urlOf(r: Route, over: Record<string, string> = {}, query = ''): string {
  const existing = EXISTING_FOR_WRITE[`${r.method} ${r.path}`] ?? {};
  const path = r.path.replace(/:(\w+)/g, (_, p: string) => {
    if (p in over) return over[p] as string;
    if (p in existing) return existing[p] as string;
    const v = PARAM_VALUES[p] as { read: string; write: string };
    return r.method === 'GET' ? v.read : v.write;
  });
  return query ? `${path}?${query}` : path;
}
