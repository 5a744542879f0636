// Host certificates from the cluster CA: the CN is the host's name (peers are known by it),
// and every private key is 0600, also when a re-issue writes over older, looser files.
import { execa } from 'execa';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initCa, issueHostCert } from './ca.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-ca-'));
  await initCa(join(dir, 'ca'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('issueHostCert', () => {
  it('names the host in the CN and leaves both key files 0600', async () => {
    const c = await issueHostCert(join(dir, 'ca'), join(dir, 'h'), 'host1', { ips: ['10.0.0.11'] });
    const { stdout } = await execa('openssl', ['x509', '-in', c.cert, '-noout', '-subject']);
    expect(stdout).toMatch(/CN\s*=\s*host1$/);
    expect(await mode(c.key)).toBe(0o600);
    expect(await mode(join(dir, 'h', 'client-key.pem'))).toBe(0o600);
  });

  it('makes key files 0600 again when a re-issue writes over 0644 ones', async () => {
    const out = join(dir, 'h');
    const first = await issueHostCert(join(dir, 'ca'), out, 'host1', { ips: ['10.0.0.11'] });
    await chmod(first.key, 0o644);
    await chmod(join(out, 'client-key.pem'), 0o644);
    const again = await issueHostCert(join(dir, 'ca'), out, 'host1', { ips: ['10.0.0.11'] });
    expect(await mode(again.key)).toBe(0o600);
    expect(await mode(join(out, 'client-key.pem'))).toBe(0o600);
  });
});
