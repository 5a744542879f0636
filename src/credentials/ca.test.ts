// Host certificates from the cluster CA, read back with node:crypto: the CN is the host's name
// (peers are known by it), IPv4, IPv6 and DNS names in the SAN, the profile QEMU and Node accept,
// the chain to the CA, every private key 0600, and nothing written when a name is wrong.
import { X509Certificate, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initCa, issueHostCert, renewHostCert } from './ca.js';

let dir: string;
const caDir = () => join(dir, 'ca');
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-ca-'));
  await initCa(caDir());
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;
const certOf = async (p: string) => new X509Certificate(await readFile(p));
const publicKeyOf = async (p: string) =>
  createPublicKey(await readFile(p))
    .export({ type: 'spki', format: 'der' })
    .toString('hex');
const DAY_MS = 86_400_000;

describe('initCa', () => {
  it('makes a CA certificate valid for ten years and a 0600 key, and never replaces them', async () => {
    const ca = await certOf(join(caDir(), 'ca-cert.pem'));
    expect(ca.ca).toBe(true);
    expect(ca.checkIssued(ca)).toBe(true);
    expect(new Date(ca.validTo).getTime() - Date.now()).toBeGreaterThan(3649 * DAY_MS);
    expect(await mode(join(caDir(), 'ca-key.pem'))).toBe(0o600);
    const again = await initCa(caDir());
    expect(again.created).toBe(false);
    expect((await certOf(join(caDir(), 'ca-cert.pem'))).fingerprint256).toBe(ca.fingerprint256);
  });

  it('refuses a CA folder holding a key without its certificate instead of replacing the key', async () => {
    const lone = join(dir, 'lone');
    await initCa(lone);
    await rm(join(lone, 'ca-cert.pem'));
    await expect(initCa(lone)).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
      message: /without its pair/,
    });
  });
});

describe('issueHostCert', () => {
  it('puts IPv4, IPv6 and DNS names in the SAN and the host name in the CN', async () => {
    const c = await issueHostCert(caDir(), join(dir, 'h'), 'host1', {
      ips: ['10.0.0.11', 'fd00::11'],
      dns: ['host1.example.org'],
    });
    const cert = await certOf(c.cert);
    expect(cert.subject).toBe('CN=host1');
    expect(cert.subjectAltName?.split(', ')).toEqual([
      'DNS:host1',
      'DNS:host1.example.org',
      'IP Address:10.0.0.11',
      'IP Address:FD00:0:0:0:0:0:0:11',
    ]);
    expect(cert.checkIP('fd00::11')).toBe('fd00::11');
    expect(cert.checkHost('host1.example.org')).toBe('host1.example.org');
  });

  it('encodes IPv6 addresses with an IPv4 tail as the same address', async () => {
    const c = await issueHostCert(caDir(), join(dir, 'h'), 'host1', {
      ips: ['::ffff:10.0.0.1', '64:ff9b::192.0.2.33'],
    });
    const cert = await certOf(c.cert);
    expect(cert.subjectAltName).toBe(
      'DNS:host1, IP Address:0:0:0:0:0:FFFF:A00:1, IP Address:64:FF9B:0:0:0:0:C000:221',
    );
  });

  it('issues for 825 days a leaf usable as TLS server and client, signed by the CA', async () => {
    const c = await issueHostCert(caDir(), join(dir, 'h'), 'host1', { ips: ['10.0.0.11'] });
    const [cert, ca] = [await certOf(c.cert), await certOf(c.ca)];
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    const from = new Date(cert.validFrom).getTime();
    const to = new Date(cert.validTo).getTime();
    expect(from).toBeLessThanOrEqual(Date.now());
    expect(Math.round((to - Date.now()) / DAY_MS)).toBe(825);
    expect(c.notAfter).toBe(new Date(to).toISOString());
  });

  it('writes the folder QEMU reads: one key for server and client, keys 0600', async () => {
    const out = join(dir, 'h');
    await issueHostCert(caDir(), out, 'host1', { ips: ['10.0.0.11'] });
    expect((await readdir(out)).sort()).toEqual([
      'ca-cert.pem',
      'client-cert.pem',
      'client-key.pem',
      'server-cert.pem',
      'server-key.pem',
    ]);
    expect(await readFile(join(out, 'client-cert.pem'), 'utf8')).toBe(
      await readFile(join(out, 'server-cert.pem'), 'utf8'),
    );
    expect(await readFile(join(out, 'client-key.pem'), 'utf8')).toBe(
      await readFile(join(out, 'server-key.pem'), 'utf8'),
    );
    expect(await readFile(join(out, 'ca-cert.pem'), 'utf8')).toBe(
      await readFile(join(caDir(), 'ca-cert.pem'), 'utf8'),
    );
    expect(await mode(join(out, 'server-key.pem'))).toBe(0o600);
    expect(await mode(join(out, 'client-key.pem'))).toBe(0o600);
    expect(await mode(out)).toBe(0o700);
  });

  it('makes key files 0600 again when a re-issue writes over 0644 ones', async () => {
    const out = join(dir, 'h');
    const first = await issueHostCert(caDir(), out, 'host1', { ips: ['10.0.0.11'] });
    await chmod(first.key, 0o644);
    await chmod(join(out, 'client-key.pem'), 0o644);
    const again = await issueHostCert(caDir(), out, 'host1', { ips: ['10.0.0.11'] });
    expect(await mode(again.key)).toBe(0o600);
    expect(await mode(join(out, 'client-key.pem'))).toBe(0o600);
  });

  it.each([
    [{ ips: ['300.1.1.1'] }, /`300.1.1.1` is not an IP address/],
    [{ ips: ['10.0.0.11', '[fd00::1]'] }, /without brackets/],
    [{ ips: ['fe80::1%eth0'] }, /zone id/],
    [{ ips: [], dns: ['bad_name.example'] }, /`bad_name.example` is not a DNS name/],
    [{ ips: [], dns: ['*.example.org'] }, /no wildcard/],
    [{ ips: [], dns: ['10.0.0.11'] }, /give it with --ip/],
  ])('refuses %j before writing anything', async (addresses, message) => {
    const out = join(dir, 'h');
    await expect(issueHostCert(caDir(), out, 'host1', addresses)).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
      message,
    });
    expect(existsSync(out)).toBe(false);
  });

  it('leaves an issued folder as it was when a re-issue names a bad address', async () => {
    const out = join(dir, 'h');
    await issueHostCert(caDir(), out, 'host1', { ips: ['10.0.0.11'] });
    const before = await Promise.all((await readdir(out)).sort().map((f) => readFile(join(out, f), 'utf8')));
    await expect(issueHostCert(caDir(), out, 'host1', { ips: ['10.0.0.300'] })).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
    });
    const after = await Promise.all((await readdir(out)).sort().map((f) => readFile(join(out, f), 'utf8')));
    expect(after).toEqual(before);
  });

  it('refuses a host name that is not one, naming it', async () => {
    await expect(issueHostCert(caDir(), join(dir, 'h'), 'host 1', { ips: [] })).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
      message: /host name `host 1` is not valid/,
    });
    expect(existsSync(join(dir, 'h'))).toBe(false);
  });

  it('refuses a CA folder whose key is not the certificate’s, writing nothing', async () => {
    await initCa(join(dir, 'other'));
    await writeFile(join(caDir(), 'ca-key.pem'), await readFile(join(dir, 'other', 'ca-key.pem')));
    await expect(issueHostCert(caDir(), join(dir, 'h'), 'host1', { ips: [] })).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
      message: /is not the key of/,
    });
    expect(existsSync(join(dir, 'h'))).toBe(false);
  });

  it('names the missing CA and the command that makes it', async () => {
    await expect(
      issueHostCert(join(dir, 'nope'), join(dir, 'h'), 'host1', { ips: [] }),
    ).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
      message: /vmhop ca init --dir/,
    });
  });
});

describe('renewHostCert', () => {
  it('keeps the key and the names and gives a new serial', async () => {
    const out = join(dir, 'h');
    const first = await issueHostCert(caDir(), out, 'host1', { ips: ['10.0.0.11', 'fd00::11'] });
    const old = await certOf(first.cert);
    const keyBefore = await publicKeyOf(first.key);
    const r = await renewHostCert(caDir(), out, 'host1');
    const cert = await certOf(r.cert);
    expect(r.newKey).toBe(false);
    expect(await publicKeyOf(r.key)).toBe(keyBefore);
    expect(cert.subjectAltName).toBe(old.subjectAltName);
    expect(cert.serialNumber).not.toBe(old.serialNumber);
    expect(cert.verify((await certOf(r.ca)).publicKey)).toBe(true);
  });

  it('makes a new key with newKey and new addresses when given', async () => {
    const out = join(dir, 'h');
    const first = await issueHostCert(caDir(), out, 'host1', { ips: ['10.0.0.11'] });
    const keyBefore = await publicKeyOf(first.key);
    const r = await renewHostCert(caDir(), out, 'host1', { newKey: true, ips: ['10.0.0.12'] });
    expect(await publicKeyOf(r.key)).not.toBe(keyBefore);
    expect(await publicKeyOf(join(out, 'client-key.pem'))).toBe(await publicKeyOf(r.key));
    expect((await certOf(r.cert)).subjectAltName).toBe('DNS:host1, IP Address:10.0.0.12');
  });

  it('renews a folder whose key openssl wrote (SEC1 "EC PRIVATE KEY") with that key', async () => {
    const out = join(dir, 'h');
    await issueHostCert(caDir(), out, 'host1', { ips: ['10.0.0.11'] });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const sec1 = privateKey.export({ type: 'sec1', format: 'pem' }).toString();
    await writeFile(join(out, 'server-key.pem'), sec1);
    const r = await renewHostCert(caDir(), out, 'host1');
    const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    expect((await certOf(r.cert)).publicKey.export({ type: 'spki', format: 'der' })).toEqual(spki);
  });

  it('refuses a folder holding another host’s certificate, naming both', async () => {
    const out = join(dir, 'h');
    await issueHostCert(caDir(), out, 'host1', { ips: ['10.0.0.11'] });
    await expect(renewHostCert(caDir(), out, 'host2')).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
      message: /certificate of `host1`, not `host2`/,
    });
  });

  it('refuses an empty folder and says how to issue instead', async () => {
    await expect(renewHostCert(caDir(), join(dir, 'h'), 'host1')).rejects.toMatchObject({
      code: 'VMHOP_ERR_USAGE',
      message: /vmhop ca issue host1/,
    });
  });
});
