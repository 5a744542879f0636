// `vmhop-agent token add|list|remove` against a registry in a temp data dir: the token is
// printed once and alone on stdout, the list never shows a token or hash, config tokens are
// listed by the names the agent logs them under, and refusals set the documented exit code.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb } from './db/open.js';
import { hashToken } from '../credentials/token-hash.js';
import { TokenStore } from './db/token-store.js';
import { tokenCommand } from './token-command.js';

let dir: string;
let out: string;
let err: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-token-cmd-'));
  out = '';
  err = '';
  process.exitCode = undefined;
});
afterEach(() => {
  process.exitCode = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<void> {
  const cmd = tokenCommand({ out: (t) => (out += t), err: (t) => (err += t) }).exitOverride();
  await cmd.parseAsync(args, { from: 'user' });
}

const dataDir = () => join(dir, 'data');
const stored = () => {
  const db = openDb(join(dataDir(), 'registry.sqlite'));
  try {
    return new TokenStore(db).list();
  } finally {
    db.close();
  }
};

describe('vmhop-agent token', () => {
  it('add prints only the token on stdout and stores its hash with the role', async () => {
    await run('add', 'grafana', '--role', 'read-only', '--data-dir', dataDir());
    const token = out.trim();
    expect(out).toBe(`${token}\n`);
    expect(err).toMatch(/token `grafana` \(read-only\) added; it is not shown again/);
    expect(stored()).toEqual([
      expect.objectContaining({ name: 'grafana', role: 'read-only', hash: hashToken(token) }),
    ]);
  });

  it('finds the data dir in the agent config given by --config, and lists config tokens by their names', async () => {
    const config = join(dir, 'agent.json');
    writeFileSync(config, JSON.stringify({ dataDir: dataDir(), tokenHashes: [hashToken('old')] }));
    await run('add', 'ci', '--config', config);
    const token = out.trim();
    out = '';
    await run('list', '--config', config, '--json');
    const list = JSON.parse(out) as { tokens: Record<string, string>[] };
    expect(list.tokens).toEqual([
      { name: 'config-token-1', role: 'admin', createdAt: '', source: 'config' },
      { name: 'ci', role: 'admin', createdAt: expect.any(String), source: 'registry' },
    ]);
    expect(out).not.toContain(token);
    expect(out).not.toContain(hashToken(token));
  });

  it('refuses a duplicate name with exit code 4 and keeps the first token', async () => {
    await run('add', 'ci', '--data-dir', dataDir());
    const first = stored();
    await run('add', 'ci', '--data-dir', dataDir());
    expect(process.exitCode).toBe(4);
    expect(stored()).toEqual(first);
  });

  it('removes a token, refuses an unknown one with exit code 3, and points config tokens to the config', async () => {
    await run('add', 'ci', '--data-dir', dataDir());
    await run('remove', 'ci', '--data-dir', dataDir());
    expect(stored()).toEqual([]);
    await run('remove', 'ci', '--data-dir', dataDir());
    expect(process.exitCode).toBe(3);
    process.exitCode = undefined;
    await run('remove', 'config-token-1', '--data-dir', dataDir());
    expect(process.exitCode).toBe(2);
  });
});
