// POST /v1/peer/link-probe (mutual TLS only): a peer agent about to migrate a VM here asks for a
// one-time sink on this host's migration address, to measure the link QEMU's stream will take
// (migration/predict/link-probe.ts). Bounded by the request's schema: at most 64 MiB, 3 s, and
// two sinks at a time; only the caller's and the named source addresses may connect.
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { VmhopError } from '../../../protocol/errors.js';
import { LinkProbeRequest } from '../../../protocol/prediction.js';
import { requirePeer } from '../auth.js';
import { checkProtocol } from '../../migration/incoming/target-side.js';
import { plainAddress } from '../../migration/incoming/ram-gate.js';
import { openLinkSink } from '../../migration/predict/link-probe.js';
import type { AgentServices } from '../../services.js';

export const peerLinkProbeRoutes =
  (s: AgentServices): FastifyPluginAsync =>
  async (app0) => {
    const app = app0.withTypeProvider<ZodTypeProvider>();
    // Before the body is read or validated, as for the other peer routes: a caller without a
    // cluster certificate learns nothing, not even what the body should be.
    app.addHook('onRequest', async (req) => requirePeer(req));
    app.post(
      '/v1/peer/link-probe',
      { config: { audit: 'migration.link-probe' }, schema: { body: LinkProbeRequest } },
      async (req) => {
        checkProtocol(req.body.protocolVersion);
        const caller = plainAddress(req.socket.remoteAddress);
        try {
          return await openLinkSink({
            address: s.migrationAddress(),
            ports: s.config.migrationPorts,
            allowed: [...req.body.sourceAddresses, ...(caller ? [caller] : [])],
            maxBytes: req.body.maxBytes,
            maxMs: req.body.maxMs,
          });
        } catch (e) {
          throw new VmhopError('VMHOP_ERR_MIGRATION_FAILED', `link probe: ${(e as Error).message}`, {
            address: s.migrationAddress(),
          });
        }
      },
    );
  };
