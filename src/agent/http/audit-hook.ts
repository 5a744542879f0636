// The HTTP side of "who did what": one log line per request naming the token (or peer)
// that made it, and one audit entry per request of a route that changes something (its
// `config.audit`), written when the answer has gone out, with the status and error code.
// Requests that failed authentication are in the request log only: anyone who reaches the
// port could otherwise grow the registry without bound.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditStore } from '../db/audit-store.js';
import { actionOf, assertAudited } from '../audit/actions.js';
import { subjectOf } from '../audit/target.js';
import { whoOf } from './auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The serialized answer of an audited request (the audit entry reads ids and error codes from it). */
    auditPayload: string | null;
  }
  interface FastifyInstance {
    /** Every route with its audit action (undefined for reads), as registered. */
    routeAudit: { method: string; url: string; audit: string | undefined }[];
  }
}

function parse(payload: string | null): Record<string, unknown> {
  try {
    const v: unknown = payload ? JSON.parse(payload) : undefined;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function logRequest(req: FastifyRequest, reply: FastifyReply): void {
  const status = reply.statusCode;
  // /health and /metrics are polled by monitors, scrapers and the test bed: at info they would
  // bury the requests that matter.
  const quiet = (req.routeOptions.url === '/health' || req.routeOptions.url === '/metrics') && status === 200;
  const level =
    status >= 500 ? 'error' : status === 401 || status === 403 ? 'warn' : quiet ? 'debug' : 'info';
  req.log[level](
    {
      who: whoOf(req.principal)?.who ?? '-',
      method: req.method,
      url: req.url,
      route: req.routeOptions.url,
      status,
      ms: Math.round(reply.elapsedTime),
    },
    'request',
  );
}

function record(audit: AuditStore, req: FastifyRequest, reply: FastifyReply): void {
  const route = req.routeOptions.config.audit;
  const who = whoOf(req.principal);
  if (!route || !who) return;
  const action = actionOf(route, req);
  const answer = parse(req.auditPayload);
  const status = reply.statusCode;
  const error = answer.error as { code?: unknown } | undefined;
  const subject = subjectOf(action, req, status < 400 ? answer : undefined);
  audit.append({
    ...who,
    action,
    target: subject.target,
    outcome: status < 400 ? 'ok' : typeof error?.code === 'string' ? error.code : `HTTP_${status}`,
    status,
    requestId: req.id,
    ...(subject.jobId ? { jobId: subject.jobId } : {}),
    details: subject.details,
  });
}

/** Call before any route is registered: a route that changes something without an audit action is refused. */
export function installAuditAndRequestLog(app: FastifyInstance, audit: AuditStore): void {
  app.decorateRequest('auditPayload', null);
  const table: FastifyInstance['routeAudit'] = [];
  app.decorate('routeAudit', table);
  app.addHook('onRoute', (r) => {
    assertAudited(r);
    for (const method of [r.method].flat()) table.push({ method, url: r.url, audit: r.config?.audit });
  });
  app.addHook('onSend', async (req, _reply, payload) => {
    if (req.routeOptions.config.audit && typeof payload === 'string') req.auditPayload = payload;
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    logRequest(req, reply);
    try {
      record(audit, req, reply);
    } catch (err) {
      req.log.error({ err }, 'audit log: writing the entry of this request failed');
    }
  });
}
