// The small cluster CA: one CA key pair per cluster, and for each host a certificate that
// serves its API and identifies it to peers (serverAuth + clientAuth, SANs = its addresses).
// QEMU's tls-creds-x509 reads the same files (ca-cert.pem, server-cert.pem, ...) for
// encrypted RAM and NBD streams. Made with the openssl CLI; keys are 0600.
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtemp } from 'node:fs/promises';
import { execa } from 'execa';
import { VmhopError } from '../protocol/errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

async function openssl(args: string[]): Promise<void> {
  const r = await execa('openssl', args, { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) {
    throw new VmhopError('VMHOP_ERR_COMMAND_FAILED', `openssl ${args[0]} failed: ${r.stderr.trim()}`, {
      command: ['openssl', ...args],
    });
  }
}

export const caFiles = (dir: string) => ({ cert: join(dir, 'ca-cert.pem'), key: join(dir, 'ca-key.pem') });

/** Creates a CA in `dir` unless one is there (idempotent: never replaces a CA). */
export async function initCa(
  dir: string,
  commonName = 'vmhop cluster CA',
): Promise<{ created: boolean; cert: string }> {
  const f = caFiles(dir);
  if (existsSync(f.cert) && existsSync(f.key)) return { created: false, cert: f.cert };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f.key]);
  await chmod(f.key, 0o600);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    f.key,
    '-sha256',
    '-days',
    '3650',
    '-subj',
    `/CN=${commonName}`,
    '-out',
    f.cert,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { created: true, cert: f.cert };
}

export interface IssuedCert {
  dir: string;
  cert: string;
  key: string;
  ca: string;
}

/**
 * Issues a host certificate into `outDir` with the names QEMU's x509 credentials expect
 * (server-cert.pem/server-key.pem, client-cert.pem/client-key.pem, ca-cert.pem): one key,
 * usable both ways, so the same folder serves the agent's API and QEMU's TLS.
 */
export async function issueHostCert(
  caDir: string,
  outDir: string,
  name: string,
  addresses: { ips: string[]; dns?: string[] },
): Promise<IssuedCert> {
  if (!NAME.test(name))
    throw new VmhopError('VMHOP_ERR_USAGE', `certificate name \`${name}\` is not valid`, { name });
  for (const ip of addresses.ips) {
    if (!IPV4.test(ip)) throw new VmhopError('VMHOP_ERR_USAGE', `\`${ip}\` is not an IPv4 address`, { ip });
  }
  const ca = caFiles(caDir);
  if (!existsSync(ca.key)) {
    throw new VmhopError('VMHOP_ERR_USAGE', `no CA in ${caDir}: run \`vmhop ca init --dir ${caDir}\` first`, {
      caDir,
    });
  }
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(tmpdir(), 'vmhop-cert-'));
  try {
    const key = join(outDir, 'server-key.pem');
    const csr = join(work, 'req.csr');
    const ext = join(work, 'ext.cnf');
    const san = [...addresses.ips.map((i) => `IP:${i}`), ...(addresses.dns ?? [name]).map((d) => `DNS:${d}`)];
    await writeFile(
      ext,
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth,clientAuth',
        `subjectAltName=${san.join(',')}`,
      ].join('\n') + '\n',
    );
    await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    await chmod(key, 0o600);
    await openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
    const cert = join(outDir, 'server-cert.pem');
    await openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-days',
      '825',
      '-sha256',
      '-extfile',
      ext,
      '-out',
      cert,
    ]);
    const pem = await readFile(cert);
    await writeFile(join(outDir, 'client-cert.pem'), pem);
    const clientKey = join(outDir, 'client-key.pem');
    await writeFile(clientKey, await readFile(key), { mode: 0o600 });
    // writeFile's mode applies only to a new file: a re-issue over an old 0644 key keeps 0644.
    await chmod(clientKey, 0o600);
    await writeFile(join(outDir, 'ca-cert.pem'), await readFile(ca.cert));
    return { dir: outDir, cert, key, ca: join(outDir, 'ca-cert.pem') };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
