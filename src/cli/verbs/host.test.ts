// `vmhop host add` keeps the token in the hosts file without it being on the command line:
// from --token-file or $VMHOP_TOKEN, with --token still first when given.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerHostVerbs } from './host.js';

let dir: string;
let tokenFile: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-host-add-'));
  tokenFile = join(dir, 'a.token');
  writeFileSync(tokenFile, 'from-file\n', { mode: 0o600 });
  process.env.VMHOP_HOSTS = join(dir, 'hosts.json');
});
afterAll(() => {
  delete process.env.VMHOP_HOSTS;
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  delete process.env.VMHOP_TOKEN;
});

async function vmhop(...args: string[]): Promise<void> {
  const program = new Command('vmhop').option('--json').option('--token <t>').option('--token-file <f>');
  registerHostVerbs(program);
  await program.parseAsync(['--json', ...args], { from: 'user' });
}

const savedToken = (name: string) =>
  (JSON.parse(readFileSync(join(dir, 'hosts.json'), 'utf8')) as { hosts: Record<string, { token?: string }> })
    .hosts[name]?.token;

describe('vmhop host add', () => {
  it('saves the token of --token-file', async () => {
    await vmhop('host', 'add', 'a', 'https://10.0.0.1:8443', '--token-file', tokenFile);
    expect(savedToken('a')).toBe('from-file');
  });

  it('saves $VMHOP_TOKEN when no flag names a token', async () => {
    process.env.VMHOP_TOKEN = 'from-env';
    await vmhop('host', 'add', 'b', 'https://10.0.0.2:8443');
    expect(savedToken('b')).toBe('from-env');
  });

  it('takes --token before --token-file and the environment', async () => {
    process.env.VMHOP_TOKEN = 'from-env';
    await vmhop('host', 'add', 'c', 'https://10.0.0.3:8443', '--token', 'flag', '--token-file', tokenFile);
    expect(savedToken('c')).toBe('flag');
  });
});
