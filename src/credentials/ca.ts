// The small cluster CA on disk: one CA key pair per cluster (ca-key.pem 0600, ca-cert.pem), and
// for each host a folder QEMU's tls-creds-x509 reads as it is (ca-cert.pem, server-cert.pem,
// server-key.pem, client-cert.pem, client-key.pem; keys 0600): one key, usable both ways, so the
// same folder serves the agent's API, its peer calls and QEMU's encrypted RAM and NBD streams.
// Every name is checked and every certificate made before the first file is written.
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VmhopError } from '../protocol/errors.js';
import { checkCertNames, checkHostName, type CertNames } from './names.js';
import { certificateValidity } from './validity.js';
import { writeFilesTogether } from './write-files.js';
import type { SigningKey } from './x509-make.js';

/** Loaded on first use: the library takes ~150 ms to import, which every `vmhop` start would pay. */
const x509 = () => import('./x509-make.js');

const CA_DAYS = 3650;
/** As before (the CA/Browser limit of the time); `vmhop ca renew` extends it. */
const HOST_DAYS = 825;

export const caFiles = (dir: string) => ({ cert: join(dir, 'ca-cert.pem'), key: join(dir, 'ca-key.pem') });

/** Creates a CA in `dir` unless one is there (idempotent: never replaces a CA). */
export async function initCa(
  dir: string,
  commonName = 'vmhop cluster CA',
): Promise<{ created: boolean; cert: string; notAfter: string }> {
  const f = caFiles(dir);
  if (existsSync(f.cert) && existsSync(f.key)) {
    return { created: false, cert: f.cert, notAfter: certificateValidity(await readFile(f.cert)).notAfter };
  }
  const lone = existsSync(f.key) ? f.key : existsSync(f.cert) ? f.cert : undefined;
  if (lone) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `${lone} is there without its pair: restore the missing one, or move ${lone} away to make a new CA`,
      { dir, file: lone },
    );
  }
  const { newKey, makeCaCert } = await x509();
  const key = await newKey();
  const cert = await makeCaCert(key, commonName, CA_DAYS);
  await writeFilesTogether(dir, [
    { name: 'ca-key.pem', content: key.pem, secret: true },
    { name: 'ca-cert.pem', content: cert },
  ]);
  return { created: true, cert: f.cert, notAfter: certificateValidity(cert).notAfter };
}

export interface IssuedCert {
  dir: string;
  cert: string;
  key: string;
  ca: string;
  notAfter: string;
  names: CertNames;
  /** False when a renewal kept the host's key. */
  newKey: boolean;
}

async function loadCa(caDir: string): Promise<{ key: SigningKey; certPem: string }> {
  const ca = caFiles(caDir);
  if (!existsSync(ca.key) || !existsSync(ca.cert)) {
    throw new VmhopError('VMHOP_ERR_USAGE', `no CA in ${caDir}: run \`vmhop ca init --dir ${caDir}\` first`, {
      caDir,
    });
  }
  const { loadKey } = await x509();
  const key = await loadKey(await readFile(ca.key, 'utf8'), ca.key);
  const certPem = await readFile(ca.cert, 'utf8');
  const cert = new X509Certificate(certPem);
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(key.spki)) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `${ca.key} is not the key of ${ca.cert}: put the pair back together`,
      {
        caDir,
      },
    );
  }
  const end = certificateValidity(certPem);
  if (end.daysLeft < 1) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `the CA in ${caDir} ends on ${end.notAfter}, too soon to sign with: make a new CA (vmhop ca init --dir NEW-DIR), issue every host from it and give the agents its ca-cert.pem`,
      { caDir, notAfter: end.notAfter },
    );
  }
  return { key, certPem };
}

async function writeHostFolder(
  caDir: string,
  outDir: string,
  names: CertNames,
  hostKey: SigningKey | undefined,
): Promise<IssuedCert> {
  const ca = await loadCa(caDir);
  const { newKey, makeHostCert } = await x509();
  const key = hostKey ?? (await newKey());
  const cert = await makeHostCert({
    names,
    hostKey: key,
    caKey: ca.key,
    caCertPem: ca.certPem,
    days: HOST_DAYS,
  });
  assertNamesReadBack(cert, names);
  await writeFilesTogether(outDir, [
    { name: 'server-key.pem', content: key.pem, secret: true },
    { name: 'client-key.pem', content: key.pem, secret: true },
    { name: 'server-cert.pem', content: cert },
    { name: 'client-cert.pem', content: cert },
    { name: 'ca-cert.pem', content: ca.certPem },
  ]);
  return {
    dir: outDir,
    cert: join(outDir, 'server-cert.pem'),
    key: join(outDir, 'server-key.pem'),
    ca: join(outDir, 'ca-cert.pem'),
    notAfter: certificateValidity(cert).notAfter,
    names,
    newKey: hostKey === undefined,
  };
}

/** Reads the certificate back as Node's TLS will: every name asked for must match, before a file is written. */
function assertNamesReadBack(certPem: string, names: CertNames): void {
  const cert = new X509Certificate(certPem);
  const missing = [
    ...names.ips.filter((ip) => cert.checkIP(ip) === undefined),
    ...names.dns.filter((d) => cert.checkHost(d) === undefined),
  ];
  if (missing.length) {
    throw new VmhopError(
      'VMHOP_ERR_INTERNAL',
      `the certificate made for ${names.name} does not match ${missing.join(', ')}; nothing was written`,
      { names, missing },
    );
  }
}

/**
 * Issues a host certificate into `outDir` with a new key. The host name is the CN (peers know
 * each other by it) and, when it is a DNS name, a DNS entry of the SAN beside `dns`.
 */
export async function issueHostCert(
  caDir: string,
  outDir: string,
  name: string,
  addresses: { ips: string[]; dns?: string[] },
): Promise<IssuedCert> {
  const names = checkCertNames(name, addresses.ips, addresses.dns ?? []);
  return writeHostFolder(caDir, outDir, names, undefined);
}

export interface RenewOptions {
  /** A new key instead of the one in server-key.pem (after a suspected leak, or to move off RSA). */
  newKey?: boolean;
  /** Replace the SAN's addresses or names; otherwise the old certificate's are kept. */
  ips?: string[];
  dns?: string[];
}

/**
 * Re-issues the certificate in `outDir` from the CA: same CN, same SAN unless told otherwise, and
 * by default the same key, so only the certificate files change (the key never leaves the folder
 * it was made in, and a copy of it elsewhere stays valid).
 */
export async function renewHostCert(
  caDir: string,
  outDir: string,
  name: string,
  opts: RenewOptions = {},
): Promise<IssuedCert> {
  checkHostName(name);
  const certFile = join(outDir, 'server-cert.pem');
  const keyFile = join(outDir, 'server-key.pem');
  if (!existsSync(certFile)) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `no certificate to renew in ${outDir} (${certFile} is missing): issue one with \`vmhop ca issue ${name} --out ${outDir}\``,
      { outDir },
    );
  }
  const { namesOf, loadKey } = await x509();
  const old = namesOf(await readFile(certFile, 'utf8'));
  if (old.name !== name) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `${certFile} is the certificate of \`${old.name}\`, not \`${name}\`: give the folder of ${name}, or \`vmhop ca renew ${old.name}\``,
      { outDir, name, certificateName: old.name },
    );
  }
  const names = checkCertNames(name, opts.ips ?? old.ips, opts.dns ?? old.dns);
  if (!opts.newKey && !existsSync(keyFile)) {
    throw new VmhopError('VMHOP_ERR_USAGE', `${keyFile} is missing: renew with --new-key`, { outDir });
  }
  const key = opts.newKey ? undefined : await loadKey(await readFile(keyFile, 'utf8'), keyFile);
  return writeHostFolder(caDir, outDir, names, key);
}
