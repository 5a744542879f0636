// /v1/audit: the host's audit log, newest first (who changed what, when, and how it ended).
// A read-only token may read it: it names tokens and peers, never a token itself.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AuditEntry, AuditQuery } from '../../../protocol/audit.js';
import type { AuditStore } from '../../db/audit-store.js';

export const auditRoutes =
  (audit: AuditStore): FastifyPluginAsync =>
  async (app0) => {
    const app = app0.withTypeProvider<ZodTypeProvider>();
    app.get(
      '/v1/audit',
      { schema: { querystring: AuditQuery, response: { 200: z.object({ entries: z.array(AuditEntry) }) } } },
      async (req) => ({ entries: audit.list(req.query) }),
    );
  };
