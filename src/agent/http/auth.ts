// Who may call the agent: clients with a bearer token (compared as SHA-256 hashes in
// constant time), and peer agents presenting a client certificate from the cluster CA
// (mutual TLS). Peer-only routes accept only the latter; client routes only the former,
// unless the config lets a peer certificate stand in for a token. Which peer may act on
// which job is the peer routes' question (routes/peer.ts). A token has a name (for the
// request and audit logs) and a role: `read-only` tokens may only GET.
import { timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { VmhopError } from '../../protocol/errors.js';
import type { AuditEntry } from '../../protocol/audit.js';
import { isReadMethod } from '../audit/actions.js';
import { hashToken } from '../../credentials/token-hash.js';
import { CONFIG_TOKEN_PREFIX, type TokenRole } from '../db/token-store.js';

/** A token the agent accepts: named ones from the registry, and the config's tokenHashes. */
export interface AcceptedToken {
  name: string;
  hash: string;
  role: TokenRole;
}

export interface AuthConfig {
  /** Unnamed admin tokens of the config file, known as config-token-1, -2, ... (back-compat). */
  tokenHashes: string[];
  /** Named tokens, read at every request so `vmhop-agent token add|remove` applies at once. */
  namedTokens?: () => AcceptedToken[];
  /** Skip authentication entirely: only for inject() tests and a loopback demo. */
  disabled?: boolean;
  /**
   * Client routes also accept a peer agent's certificate instead of a token. Off by default:
   * a certificate of the cluster CA is an agent's identity for migrations, and no agent calls
   * another's client routes.
   */
  peerCertificatesAsClients?: boolean;
}

export type Principal =
  { kind: 'client'; name: string; role: TokenRole } | { kind: 'peer'; name: string } | { kind: 'anonymous' };

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

export function acceptedTokens(cfg: AuthConfig): AcceptedToken[] {
  return [
    ...cfg.tokenHashes.map((hash, i) => ({
      name: `${CONFIG_TOKEN_PREFIX}${i + 1}`,
      hash,
      role: 'admin' as const,
    })),
    ...(cfg.namedTokens?.() ?? []),
  ];
}

/** Every accepted hash is compared (in constant time), so timing says nothing about which matched. */
function tokenMatch(presented: string, tokens: AcceptedToken[]): AcceptedToken | undefined {
  const h = Buffer.from(hashToken(presented), 'hex');
  let found: AcceptedToken | undefined;
  for (const t of tokens) {
    const b = Buffer.from(t.hash, 'hex');
    if (b.length === h.length && timingSafeEqual(b, h)) found ??= t;
  }
  return found;
}

/** The audit log's `who` of a request: token name, peer name, anonymous, or - when unauthenticated. */
export function whoOf(p: Principal | null): Pick<AuditEntry, 'who' | 'whoKind'> | undefined {
  if (!p) return undefined;
  if (p.kind === 'client') return { who: p.name, whoKind: 'token' };
  if (p.kind === 'peer') return { who: p.name, whoKind: 'peer' };
  return { who: 'anonymous', whoKind: 'anonymous' };
}

/**
 * A read-only token may read everything a client may read, and change nothing: every method
 * but GET and HEAD is refused, a dry-run migration (POST) included, since its pre-flight writes
 * a probe file to shared storage, measures the guest's dirty rate and calls the peer agent.
 */
export function assertMayWrite(req: FastifyRequest): void {
  const p = req.principal;
  if (p?.kind !== 'client' || p.role !== 'read-only' || isReadMethod(req.method)) return;
  const route = req.routeOptions.url ?? req.url.split('?')[0];
  throw new VmhopError(
    'VMHOP_ERR_AUTH_READ_ONLY',
    `token \`${p.name}\` is read-only and may not ${req.method} ${route}: use an admin token for changes (\`vmhop-agent token add NAME\` on the host makes one)`,
    { token: p.name, method: req.method, route },
  );
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
      'no token presented: pass `Authorization: Bearer TOKEN` (the CLI takes it from --token, --token-file, VMHOP_TOKEN or the hosts file)',
      {},
    );
  }
  const m = /^Bearer (\S+)$/.exec(header);
  const token = m ? tokenMatch(m[1] as string, acceptedTokens(cfg)) : undefined;
  if (!token) {
    throw new VmhopError(
      'VMHOP_ERR_AUTH_INVALID',
      'the token was not accepted by this agent (unknown, or removed): check the token in your hosts file, --token-file or VMHOP_TOKEN; `vmhop-agent token list` on the host shows the names it accepts',
      {},
    );
  }
  return { kind: 'client', name: token.name, role: token.role };
}
