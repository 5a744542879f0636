// The three strangers of issue 12, and how they knock from inside a test-bed host's network
// namespace: no client certificate, a certificate of another CA named like the real source, and
// a valid cluster certificate of a host no job names (`c`). Each has a folder in the layout
// QEMU's tls-creds-x509 reads; its ca-cert.pem is the cluster CA, so every stranger trusts the
// target and gets as far as presenting (or not presenting) its own certificate.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCa, issueHostCert } from '../../../src/credentials/ca.js';
import { TESTBED_CA_DIR } from '../../../src/testbed/agents.js';
import { runInNetns } from '../../../src/testbed/host-exec.js';
import { REPO_ROOT } from '../../../src/repo/paths.js';

export interface Stranger {
  name: 'no certificate' | 'another CA' | 'wrong host';
  dir: string;
  /** Absent for the stranger without a certificate. */
  cert?: string;
  key?: string;
}

export interface Strangers {
  all: Stranger[];
  remove(): Promise<void>;
}

const CLUSTER_CA = `${TESTBED_CA_DIR}/ca-cert.pem`;
const SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'helpers', 'tls-stranger.mjs');

/** Makes the strangers' folders in a temp dir; `source` is the name the foreign certificate claims. */
export async function makeStrangers(source: string, sourceIps: string[]): Promise<Strangers> {
  const root = await mkdtemp(join(tmpdir(), 'vmhop-strangers-'));
  try {
    const none = join(root, 'none');
    await mkdir(none);
    await copyFile(CLUSTER_CA, join(none, 'ca-cert.pem'));
    await initCa(join(root, 'foreign-ca'), 'a stranger CA');
    const foreign = await issueHostCert(join(root, 'foreign-ca'), join(root, 'foreign'), source, {
      ips: sourceIps,
    });
    await copyFile(CLUSTER_CA, foreign.ca);
    const wrong = await issueHostCert(TESTBED_CA_DIR, join(root, 'wrong'), 'c', { ips: ['10.98.0.13'] });
    const own = (dir: string) => ({
      dir,
      cert: join(dir, 'client-cert.pem'),
      key: join(dir, 'client-key.pem'),
    });
    return {
      all: [
        { name: 'no certificate', dir: none },
        { name: 'another CA', ...own(foreign.dir) },
        { name: 'wrong host', ...own(wrong.dir) },
      ],
      remove: () => rm(root, { recursive: true, force: true }),
    };
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    throw e;
  }
}

async function runStranger<T>(netns: string, args: Record<string, unknown>): Promise<T> {
  const r = await runInNetns(netns, [process.execPath, SCRIPT, JSON.stringify(args)], { timeoutMs: 30_000 });
  return JSON.parse(r.stdout) as T;
}

export interface TlsKnock {
  /** The client's view: TLS 1.3 ends its handshake before the server has judged its certificate. */
  handshake: boolean;
  /** Bytes the server sent after the handshake. */
  bytesIn: number;
  error?: string;
  ended: 'by-server' | 'timeout';
  ms: number;
}

/** Opens TLS to host:port as `s`, sends a migration stream's first bytes, reports what came back. */
export function knockTls(netns: string, s: Stranger, host: string, port: number): Promise<TlsKnock> {
  return runStranger(netns, {
    mode: 'tls',
    host,
    port,
    ca: CLUSTER_CA,
    cert: s.cert,
    key: s.key,
    timeoutMs: 10_000,
  });
}

/**
 * Opens TCP to host:port and sends nothing (`idle`) or only a real TLS ClientHello
 * (`stalled-hello`), from the address `from` when given; says when the server closed the connection.
 */
export function knockSilently(
  netns: string,
  mode: 'idle' | 'stalled-hello',
  host: string,
  port: number,
  from?: string,
): Promise<{ ended: 'by-server' | 'timeout'; ms: number }> {
  return runStranger(netns, { mode, host, port, from, ca: CLUSTER_CA, timeoutMs: 20_000 });
}

export interface HttpsKnock {
  status?: number;
  body?: string;
  error?: string;
}

export function knockHttps(
  netns: string,
  s: Stranger,
  req: { host: string; port: number; method: 'GET' | 'POST'; path: string; body?: unknown },
): Promise<HttpsKnock> {
  return runStranger(netns, {
    mode: 'https',
    ...req,
    ca: CLUSTER_CA,
    cert: s.cert,
    key: s.key,
    timeoutMs: 10_000,
  });
}

/**
 * Reads the first 4 KiB of an NBD export with qemu-io: over TLS with the folder `dir` (its
 * client-cert.pem, when there is one, is presented), or without TLS for `plain`.
 */
export async function readNbdExport(
  netns: string,
  creds: { dir: string } | 'plain',
  at: { host: string; port: number; name: string },
): Promise<{ exitCode: number; output: string }> {
  const server = `driver=nbd,server.type=inet,server.host=${at.host},server.port=${at.port},export=${at.name}`;
  const tls =
    creds === 'plain'
      ? []
      : [
          '--object',
          // sanity-check off: the foreign certificate does not chain to the cluster CA it trusts.
          `tls-creds-x509,id=tc,dir=${creds.dir},endpoint=client,sanity-check=off`,
        ];
  const opts = creds === 'plain' ? server : `${server},tls-creds=tc,tls-hostname=${at.host}`;
  const r = await runInNetns(netns, ['qemu-io', '-r', ...tls, '--image-opts', opts, '-c', 'read 0 4096'], {
    allowFail: true,
    timeoutMs: 30_000,
  });
  return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}`.trim() };
}
