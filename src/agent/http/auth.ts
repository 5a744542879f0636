// Who may call the agent: clients with a bearer token (compared as SHA-256 hashes in
// constant time), and peer agents presenting a client certificate from the cluster CA
// (mutual TLS). Peer-only routes accept only the latter; client routes only the former,
// unless the config lets a peer certificate stand in for a token. Which peer may act on
// which job is the peer routes' question (routes/peer.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { VmhopError } from '../../protocol/errors.js';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export interface AuthConfig {
  tokenHashes: string[];
  /** Skip authentication entirely: only for inject() tests and a loopback demo. */
  disabled?: boolean;
  /**
   * Client routes also accept a peer agent's certificate instead of a token. Off by default:
   * a certificate of the cluster CA is an agent's identity for migrations, and no agent calls
   * another's client routes.
   */
  peerCertificatesAsClients?: boolean;
}

export type Principal = { kind: 'client' } | { kind: 'peer'; name: string } | { kind: 'anonymous' };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Agent-to-agent routes: only a peer with a cluster certificate (or a test app without auth). */
export function requirePeer(req: FastifyRequest): void {
  const p = req.principal;
  if (p?.kind === 'peer' || p?.kind === 'anonymous') return;
  throw new VmhopError(
    'VMHOP_ERR_PEER_ONLY',
    `${req.method} ${req.url} is for peer agents presenting a cluster certificate`,
    {},
  );
}

function peerOf(req: FastifyRequest): { kind: 'peer'; name: string } | undefined {
  const sock = req.raw.socket as TLSSocket;
  if (!sock.encrypted || !sock.authorized) return undefined;
  const cert = sock.getPeerCertificate();
  const cn = cert?.subject?.CN;
  return typeof cn === 'string' ? { kind: 'peer', name: cn } : undefined;
}

function tokenMatches(presented: string, hashes: string[]): boolean {
  const h = Buffer.from(hashToken(presented), 'hex');
  return hashes.some((x) => {
    const b = Buffer.from(x, 'hex');
    return b.length === h.length && timingSafeEqual(b, h);
  });
}

/** `peerRoute`: the matched route is agent-to-agent (/v1/peer/*). */
export function authenticate(req: FastifyRequest, cfg: AuthConfig, peerRoute: boolean): Principal {
  if (cfg.disabled) return { kind: 'anonymous' };
  const peer = peerOf(req);
  if (peer && (peerRoute || cfg.peerCertificatesAsClients)) return peer;
  const header = req.headers.authorization;
  if (!header) {
    if (peer) {
      throw new VmhopError(
        'VMHOP_ERR_AUTH_PEER_CERT',
        `${req.method} ${req.url} is a client route: the peer certificate of \`${peer.name}\` is not a client credential here; pass a token (\`Authorization: Bearer TOKEN\`), or set peerCertificatesAsClients in this agent's config`,
        { peer: peer.name },
      );
    }
    throw new VmhopError(
      'VMHOP_ERR_AUTH_MISSING',
      'no token presented: pass `Authorization: Bearer TOKEN` (the CLI takes it from the hosts file or --token)',
      {},
    );
  }
  const m = /^Bearer (\S+)$/.exec(header);
  if (!m || !tokenMatches(m[1] as string, cfg.tokenHashes)) {
    throw new VmhopError(
      'VMHOP_ERR_AUTH_INVALID',
      'the token was not accepted by this agent: check the token in your hosts file (`vmhop host add NAME URL --token ...`)',
      {},
    );
  }
  return { kind: 'client' };
}
