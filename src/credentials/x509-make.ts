// Certificates and keys in memory, made with @peculiar/x509 on node:crypto's WebCrypto: the CA's
// self-signed certificate and a host certificate in the profile QEMU's tls-creds-x509 (GnuTLS) and
// Node's TLS both accept (digitalSignature + keyEncipherment, serverAuth + clientAuth, CN = host
// name, IP and DNS names in the SAN). Nothing here touches files; ca.ts owns the layout on disk.
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type Algorithm = webcrypto.Algorithm;
type ImportParams = webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
import { VmhopError } from '../protocol/errors.js';
import type { CertNames } from './names.js';

const crypto = webcrypto;
const P256 = { name: 'ECDSA', namedCurve: 'P-256' };
/** A few minutes back, so a host whose clock runs behind the CA's accepts a fresh certificate. */
const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

export interface SigningKey {
  privateKey: CryptoKey;
  /** SubjectPublicKeyInfo, DER. */
  spki: Buffer;
  /** PKCS#8 PEM, as written to disk. */
  pem: string;
  algorithm: Algorithm & { hash: string };
}

function signingAlgorithm(
  k: KeyObject,
  file: string,
): {
  importAs: ImportParams;
  sign: Algorithm & { hash: string };
} {
  const d = k.asymmetricKeyDetails ?? {};
  if (k.asymmetricKeyType === 'ec' && (d.namedCurve === 'prime256v1' || d.namedCurve === 'secp384r1')) {
    const namedCurve = d.namedCurve === 'prime256v1' ? 'P-256' : 'P-384';
    const hash = namedCurve === 'P-256' ? 'SHA-256' : 'SHA-384';
    return { importAs: { name: 'ECDSA', namedCurve }, sign: { name: 'ECDSA', hash } };
  }
  if (k.asymmetricKeyType === 'rsa') {
    const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { importAs: rsa, sign: rsa };
  }
  throw new VmhopError(
    'VMHOP_ERR_USAGE',
    `the key in ${file} is ${k.asymmetricKeyType ?? 'unknown'} ${d.namedCurve ?? ''}; vmhop signs with EC P-256/P-384 or RSA keys: use --new-key for a fresh P-256 key`,
    { file, type: k.asymmetricKeyType, curve: d.namedCurve },
  );
}

/** Reads a PEM private key (SEC1 "EC PRIVATE KEY" as openssl wrote them, or PKCS#8). */
export async function loadKey(pem: string, file: string): Promise<SigningKey> {
  let k: KeyObject;
  try {
    k = createPrivateKey(pem);
  } catch (e) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `${file} holds no readable private key: ${(e as Error).message}`,
      { file },
      e,
    );
  }
  const alg = signingAlgorithm(k, file);
  const pkcs8 = k.export({ type: 'pkcs8', format: 'der' });
  const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, alg.importAs, false, ['sign']);
  const spki = createPublicKey(k).export({ type: 'spki', format: 'der' });
  return {
    privateKey,
    spki,
    pem: k.export({ type: 'pkcs8', format: 'pem' }).toString(),
    algorithm: alg.sign,
  };
}

/** A new EC P-256 key, as `openssl ecparam -name prime256v1` made them. */
export async function newKey(): Promise<SigningKey> {
  const pair = await crypto.subtle.generateKey(P256, true, ['sign', 'verify']);
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  return loadKey(x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'), 'a new key');
}

export async function makeCaCert(
  key: SigningKey,
  commonName: string,
  days: number,
  now = Date.now(),
): Promise<string> {
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: [{ CN: [commonName] }],
      issuer: [{ CN: [commonName] }],
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + days * DAY_MS),
      publicKey: key.spki,
      signingKey: key.privateKey,
      signingAlgorithm: key.algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(key.spki, false, crypto),
      ],
    },
    crypto,
  );
  return cert.toString('pem') + '\n';
}

export interface HostCertInput {
  names: CertNames;
  hostKey: SigningKey;
  caKey: SigningKey;
  caCertPem: string;
  days: number;
  now?: number;
}

/**
 * An IPv6 address with a dotted IPv4 tail (::ffff:10.0.0.1) in hex groups only (::ffff:a00:1):
 * the library reads each group as hex and encoded that tail as `10`, a wrong address in the SAN.
 */
export function hexTail(ip: string): string {
  const m = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return ip;
  const [a, b, c, d] = m.slice(2).map(Number) as [number, number, number, number];
  return `${m[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/** The host certificate; its end is capped at the CA's, past which no peer would accept it anyway. */
export async function makeHostCert(i: HostCertInput): Promise<string> {
  const now = i.now ?? Date.now();
  const ca = new x509.X509Certificate(i.caCertPem);
  const notAfter = Math.min(now + i.days * DAY_MS, ca.notAfter.getTime());
  const san = [
    ...i.names.dns.map((value) => ({ type: 'dns' as const, value })),
    ...i.names.ips.map((ip) => ({ type: 'ip' as const, value: hexTail(ip) })),
  ];
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: [{ CN: [i.names.name] }],
      issuer: ca.subjectName,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(notAfter),
      publicKey: i.hostKey.spki,
      signingKey: i.caKey.privateKey,
      signingAlgorithm: i.caKey.algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension(san),
        await x509.SubjectKeyIdentifierExtension.create(i.hostKey.spki, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(i.caKey.spki, false, crypto),
      ],
    },
    crypto,
  );
  return cert.toString('pem') + '\n';
}

/** The CN and SAN of an existing host certificate, for a renewal that keeps them. */
export function namesOf(certPem: string): CertNames {
  const cert = new x509.X509Certificate(certPem);
  const cn = cert.subjectName.getField('CN')[0] ?? '';
  const items = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    name: cn,
    ips: items.filter((n) => n.type === 'ip').map((n) => n.value),
    dns: items.filter((n) => n.type === 'dns').map((n) => n.value),
  };
}
