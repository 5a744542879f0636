// Who may call the agent: clients with a bearer token (compared as SHA-256 hashes in
// constant time), and peer agents presenting a client certificate from the cluster CA
// (mutual TLS). Peer-only routes accept only the latter.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { VmhopError } from '../../protocol/errors.js';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export interface AuthConfig {
  tokenHashes: string[];
  /** Skip authentication entirely: only for inject() tests and a loopback demo. */
  disabled?: boolean;
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

function peerOf(req: FastifyRequest): Principal | undefined {
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

export function authenticate(req: FastifyRequest, cfg: AuthConfig): Principal {
  if (cfg.disabled) return { kind: 'anonymous' };
  const peer = peerOf(req);
  if (peer) return peer;
  const header = req.headers.authorization;
  if (!header) {
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
