// The CLI's token precedence: --token, then --token-file, then $VMHOP_TOKEN, then the hosts
// file; and a token file: read and trimmed, a missing or empty one refused, one others can
// read used with a warning.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveConnection, writeHostsFile } from './hosts-file.js';
import { pickToken, readTokenFile } from './token-source.js';

let dir: string;
let file: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-token-source-'));
  file = join(dir, 'token');
  writeFileSync(file, 'from-file\n', { mode: 0o600 });
  process.env.VMHOP_HOSTS = join(dir, 'hosts.json');
  writeHostsFile({ hosts: { a: { url: 'https://10.99.0.11:8443', token: 'from-hosts' } } });
});
afterAll(() => {
  delete process.env.VMHOP_HOSTS;
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  delete process.env.VMHOP_TOKEN;
});

describe('pickToken', () => {
  const env = { VMHOP_TOKEN: 'from-env' };
  it('takes --token first', () => {
    expect(pickToken({ token: 'flag', tokenFile: file }, 'from-hosts', env)).toEqual({
      token: 'flag',
      source: 'flag',
    });
  });
  it('takes --token-file before VMHOP_TOKEN and the hosts file', () => {
    expect(pickToken({ tokenFile: file }, 'from-hosts', env)).toEqual({ token: 'from-file', source: 'file' });
  });
  it('takes VMHOP_TOKEN before the hosts file', () => {
    expect(pickToken({}, 'from-hosts', env)).toEqual({ token: 'from-env', source: 'env' });
  });
  it('takes the hosts file last, and nothing when there is nothing', () => {
    expect(pickToken({}, 'from-hosts', {})).toEqual({ token: 'from-hosts', source: 'hosts-file' });
    expect(pickToken({}, undefined, {})).toBeUndefined();
  });
});

describe('resolveConnection', () => {
  it('uses the hosts file token unless --token, --token-file or VMHOP_TOKEN says otherwise', () => {
    expect(resolveConnection('a').token).toBe('from-hosts');
    process.env.VMHOP_TOKEN = 'from-env';
    expect(resolveConnection('a').token).toBe('from-env');
    expect(resolveConnection('a', { tokenFile: file }).token).toBe('from-file');
    expect(resolveConnection('a', { token: 'flag', tokenFile: file }).token).toBe('flag');
  });
  it('gives a URL connection the token of --token-file', () => {
    expect(resolveConnection('https://10.0.0.1:8443', { tokenFile: file })).toEqual({
      name: 'https://10.0.0.1:8443',
      url: 'https://10.0.0.1:8443',
      token: 'from-file',
    });
  });
});

describe('readTokenFile', () => {
  it('reads a 0600 file without a warning', () => {
    const warnings: string[] = [];
    expect(readTokenFile(file, (m) => warnings.push(m))).toBe('from-file');
    expect(warnings).toEqual([]);
  });
  it('warns, and still reads, a file other users may read, naming it and the chmod', () => {
    const open = join(dir, 'open-token');
    writeFileSync(open, 'tok\n');
    chmodSync(open, 0o644);
    const warnings: string[] = [];
    expect(readTokenFile(open, (m) => warnings.push(m))).toBe('tok');
    expect(warnings).toEqual([
      expect.stringMatching(/readable by other users \(mode 0644\): chmod 600 .*open-token/),
    ]);
  });
  it('refuses a missing file naming it', () => {
    expect(() => readTokenFile(join(dir, 'nope'))).toThrow(/cannot read token file .*nope/);
  });
  it('refuses an empty file and one of several words', () => {
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n', { mode: 0o600 });
    expect(() => readTokenFile(empty)).toThrow(/it is empty/);
    const two = join(dir, 'two');
    writeFileSync(two, 'a b\n', { mode: 0o600 });
    expect(() => readTokenFile(two)).toThrow(/not several words/);
  });
});
