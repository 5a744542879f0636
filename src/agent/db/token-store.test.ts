// Named tokens in the registry: names that are safe to show in logs, no duplicates, only the
// hash kept, and errors that name the token and the way out.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, type Db } from './open.js';
import { hashToken } from '../../credentials/token-hash.js';
import { TokenStore } from './token-store.js';

let dir: string;
let db: Db;
let store: TokenStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-tokens-'));
  db = openDb(join(dir, 'registry.sqlite'));
  store = new TokenStore(db);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('TokenStore', () => {
  it('makes a 32-byte base64url token and keeps only its SHA-256, with the role and time', () => {
    const { token, row } = store.add('grafana', 'read-only');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.list()).toEqual([
      { name: 'grafana', hash: hashToken(token), role: 'read-only', createdAt: row.createdAt },
    ]);
  });

  it('makes a different token each time', () => {
    expect(store.add('a').token).not.toBe(store.add('b').token);
  });

  it('refuses a second token of the same name with VMHOP_ERR_TOKEN_EXISTS naming it and the fix', () => {
    store.add('ci');
    expect(() => store.add('ci')).toThrow(
      expect.objectContaining({
        code: 'VMHOP_ERR_TOKEN_EXISTS',
        message: expect.stringMatching(/`ci`.*token remove ci/) as string,
      }) as Error,
    );
  });

  it.each(['', 'has space', 'a/b', 'x'.repeat(65), 'tab\there', 'config-token-1'])(
    'refuses the name %j with VMHOP_ERR_USAGE',
    (name) => {
      expect(() => store.add(name)).toThrow(expect.objectContaining({ code: 'VMHOP_ERR_USAGE' }) as Error);
      expect(store.list()).toEqual([]);
    },
  );

  it('refuses a role it does not know', () => {
    expect(() => store.add('x', 'root' as 'admin')).toThrow(/role `root` is unknown/);
  });

  it('removes a token, and names the known ones when asked to remove an unknown one', () => {
    store.add('a');
    store.add('b');
    store.remove('a');
    expect(store.list().map((t) => t.name)).toEqual(['b']);
    expect(() => store.remove('zz')).toThrow(
      expect.objectContaining({
        code: 'VMHOP_ERR_TOKEN_NOT_FOUND',
        message: expect.stringMatching(/`zz`.*b/) as string,
      }) as Error,
    );
  });
});
