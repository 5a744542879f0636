// Named client tokens in the registry: name, role and the token's SHA-256, never the token.
// `vmhop-agent token add|list|remove` writes here from another process while the agent runs;
// the agent reads the table at each request, so a removed token stops working at once.
import { randomBytes } from 'node:crypto';
import { VmhopError } from '../../protocol/errors.js';
import { hashToken } from '../../credentials/token-hash.js';
import type { Db } from './open.js';

export type TokenRole = 'admin' | 'read-only';
export const TOKEN_ROLES: readonly TokenRole[] = ['admin', 'read-only'];

export interface TokenRow {
  name: string;
  /** SHA-256 hex of the token. */
  hash: string;
  role: TokenRole;
  createdAt: string;
}

const TOKEN_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** Names the agent gives the unnamed tokens of the config's tokenHashes (config-token-1, ...). */
export const CONFIG_TOKEN_PREFIX = 'config-token-';

export function assertTokenName(name: string): void {
  if (!TOKEN_NAME.test(name)) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `token name \`${name}\` is not allowed: use 1 to 64 letters, digits, _ . or -, e.g. grafana-ro`,
      { name },
    );
  }
  if (name.startsWith(CONFIG_TOKEN_PREFIX)) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `token name \`${name}\` is reserved for the config's tokenHashes: choose a name not starting with ${CONFIG_TOKEN_PREFIX}`,
      { name },
    );
  }
}

interface RawToken {
  name: string;
  hash: string;
  role: string;
  created_at: string;
}

export class TokenStore {
  constructor(private readonly db: Db) {}

  list(): TokenRow[] {
    return (this.db.prepare('SELECT * FROM tokens ORDER BY name').all() as RawToken[]).map((r) => ({
      name: r.name,
      hash: r.hash,
      role: r.role as TokenRole,
      createdAt: r.created_at,
    }));
  }

  /** Creates a token (32 random bytes, base64url) and returns it: the only time it exists in clear. */
  add(name: string, role: TokenRole = 'admin'): { token: string; row: TokenRow } {
    assertTokenName(name);
    if (!TOKEN_ROLES.includes(role)) {
      throw new VmhopError(
        'VMHOP_ERR_USAGE',
        `token role \`${role}\` is unknown: use ${TOKEN_ROLES.join(' or ')}`,
        { role },
      );
    }
    if (this.list().some((t) => t.name === name)) {
      throw new VmhopError(
        'VMHOP_ERR_TOKEN_EXISTS',
        `a token named \`${name}\` exists: remove it first (\`vmhop-agent token remove ${name}\`) or choose another name`,
        { name },
      );
    }
    const token = randomBytes(32).toString('base64url');
    const row: TokenRow = { name, hash: hashToken(token), role, createdAt: new Date().toISOString() };
    this.db
      .prepare('INSERT INTO tokens (name, hash, role, created_at) VALUES (?, ?, ?, ?)')
      .run(row.name, row.hash, row.role, row.createdAt);
    return { token, row };
  }

  remove(name: string): void {
    const r = this.db.prepare('DELETE FROM tokens WHERE name = ?').run(name);
    if (r.changes === 0) {
      const names = this.list().map((t) => t.name);
      throw new VmhopError(
        'VMHOP_ERR_TOKEN_NOT_FOUND',
        `no token named \`${name}\`; tokens: ${names.length ? names.join(', ') : '(none)'} (\`vmhop-agent token list\`)`,
        { name, tokens: names },
      );
    }
  }
}
