// The hosts file names connections by user strings: only its own entries count, so a name
// that is a member of every JavaScript object (`constructor`, `__proto__`) names none.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConnection, writeHostsFile } from './hosts-file.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmhop-hosts-'));
  process.env.VMHOP_HOSTS = join(dir, 'hosts.json');
  writeHostsFile({ hosts: { a: { url: 'https://10.99.0.11:8443', token: 't' } } });
});
afterAll(() => {
  delete process.env.VMHOP_HOSTS;
  rmSync(dir, { recursive: true, force: true });
});

describe('resolveConnection', () => {
  it.each(['constructor', '__proto__', 'toString'])('does not take `%s` as a known host', (name) => {
    expect(() => resolveConnection(name)).toThrow(
      expect.objectContaining({ code: 'VMHOP_ERR_HOST_UNKNOWN' }) as Error,
    );
  });

  it('finds a host the file names', () => {
    expect(resolveConnection('a')).toMatchObject({ name: 'a', url: 'https://10.99.0.11:8443' });
  });
});
