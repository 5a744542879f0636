// Peers as an agent sees them over mutual TLS: a cluster CA with host certificates in a temp
// folder (tls/ca.ts, the same openssl steps as `vmhop ca`), an HTTPS client presenting one of
// them to a TestAgent served on loopback, and a listing of the files a test must not touch.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { initCa, issueHostCert, type IssuedCert } from '../../../src/credentials/ca.js';
import type { Body } from './test-agent.js';

/** A CA in `dir`/ca and one certificate per name (CN = the name), for 127.0.0.1. */
export async function clusterCerts(dir: string, names: string[]): Promise<Record<string, IssuedCert>> {
  await initCa(join(dir, 'ca'));
  const out: Record<string, IssuedCert> = {};
  for (const n of names)
    out[n] = await issueHostCert(join(dir, 'ca'), join(dir, n), n, { ips: ['127.0.0.1'] });
  return out;
}

export interface PeerReply {
  status: number;
  body: Body;
  text: string;
}

/** HTTPS to an agent, verifying it with `serverCa`, presenting `cert` (none: no client certificate). */
export class PeerClient {
  private readonly dispatcher: Agent;

  constructor(
    private readonly base: string,
    serverCa: string,
    cert?: IssuedCert,
  ) {
    this.dispatcher = new Agent({
      connect: {
        ca: readFileSync(serverCa),
        ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}),
      },
    });
  }

  async call(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<PeerReply> {
    const res = await request(new URL(path, this.base), {
      method,
      dispatcher: this.dispatcher,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
    });
    const text = await res.body.text();
    let parsed: Body = {};
    try {
      parsed = JSON.parse(text) as Body;
    } catch {
      // not JSON: the test reads `text`
    }
    return { status: res.statusCode, body: parsed, text };
  }

  async close(): Promise<void> {
    await this.dispatcher.destroy();
  }
}

/**
 * Every file under `root` but those under `skip` (relative names), with size and SHA-256: taken
 * before and after a test, it shows that nothing outside the agent's own folders was made or changed.
 */
export async function filesUnder(root: string, skip: string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip.includes(r)) continue;
      if (e.isDirectory()) await walk(join(dir, e.name), r);
      else {
        const p = join(dir, e.name);
        const size = (await stat(p)).size;
        out[r] = `${size} ${createHash('sha256')
          .update(await readFile(p))
          .digest('hex')}`;
      }
    }
  };
  await walk(root, '');
  return out;
}
