// Which agent may do what (issue 12, finding 4): a certificate of the cluster CA identifies
// one agent (its CN), not any peer. A job is created only by the agent it names as source,
// and every later call on it (finish, post-copy, abort, commit, pause, job info, data chunks)
// is taken only from the agent the job names; client routes take a token, not a peer
// certificate, unless the agent is configured to. Over real HTTPS on loopback; after every
// test no file outside the agent's data and run folders was made or changed.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IssuedCert } from '../../src/credentials/ca.js';
import { PROTOCOL_VERSION } from '../../src/protocol/host.js';
import { MigrationOptions } from '../../src/protocol/migration.js';
import { expectApiError } from './helpers/api-expect.js';
import { clusterCerts, filesUnder, PeerClient, type PeerReply } from './helpers/peer-tls.js';
import { TestAgent, TOKEN, type ApiReply } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let sandbox: string;
let certs: Record<string, IssuedCert>;
/** A certificate named `a` from another CA. */
let stranger: IssuedCert;
let agent: TestAgent;
let url: string;
const clients: PeerClient[] = [];
let before: Record<string, string>;

beforeAll(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'vmhop-peer-identity-'));
  certs = await clusterCerts(join(sandbox, 'cluster'), ['t', 'a', 'x']);
  stranger = (await clusterCerts(join(sandbox, 'elsewhere'), ['a'])).a!;
});
afterAll(async () => {
  await rm(sandbox, { recursive: true, force: true });
});

async function startAgent(opts: { peerCertificatesAsClients?: boolean } = {}) {
  agent = await TestAgent.start({ name: 't', tls: certs.t, ...opts });
  url = await agent.listen();
  before = await outside();
}
afterEach(async () => {
  try {
    expect(await outside()).toEqual(before);
  } finally {
    for (const c of clients.splice(0)) await c.close();
    await agent.close();
  }
});

/** Every file outside the agent's data and run folders that a test could reach. */
async function outside() {
  const [s, r] = await Promise.all([filesUnder(sandbox), filesUnder(agent.root, ['data', 'run'])]);
  return { ...s, ...Object.fromEntries(Object.entries(r).map(([k, v]) => [`agent/${k}`, v])) };
}

/** An HTTPS client of the agent (or of `base`) presenting `cert`. */
function as(cert: IssuedCert | undefined, base = url): PeerClient {
  const c = new PeerClient(base, certs.t!.ca, cert);
  clients.push(c);
  return c;
}

const reply = (r: PeerReply): ApiReply => ({ status: r.status, body: r.body, text: r.text, headers: {} });

function offlinePrepare(over: Record<string, unknown> = {}) {
  return {
    protocolVersion: PROTOCOL_VERSION,
    jobId: randomUUID(),
    source: 'a',
    vm: 'v1',
    volumeCopy: false,
    items: [
      {
        key: 'src/d1.img',
        kind: 'volume',
        pool: 'default',
        name: 'd1.img',
        format: 'raw',
        sizeBytes: 1 << 20,
        dataBytes: 4096,
        fingerprint: 'f1',
      },
    ],
    options: MigrationOptions.parse({}),
    ...over,
  };
}

/** An offline job `a` started here: the target job whose peer is `a`. */
async function jobOfA() {
  const body = offlinePrepare();
  const prep = await as(certs.a).call('POST', '/v1/peer/offline', body);
  expect(prep.status, prep.text).toBe(200);
  return { id: body.jobId, prep };
}

describe('a job is created only by the agent it names as source', () => {
  beforeEach(() => startAgent());

  it('refuses an offline prepare from `x` that names `a` as its source, and creates no job', async () => {
    const body = offlinePrepare();
    const res = await as(certs.x).call('POST', '/v1/peer/offline', body);
    expectApiError(reply(res), 403, 'VMHOP_ERR_PEER_NOT_OF_JOB', /`x`/, /`a`/);
    expect(agent.services.jobStore.find(body.jobId)).toBeUndefined();
    expect(agent.defaultPoolFiles().filter((f) => !f.startsWith('.vmhop-pool'))).toEqual([]);
  });

  it('refuses a live prepare from `x` that names `a` as its source, and defines nothing', async () => {
    const jobId = randomUUID();
    const res = await as(certs.x).call('POST', '/v1/peer/migrations', {
      protocolVersion: PROTOCOL_VERSION,
      jobId,
      mode: 'live-shared',
      source: 'a',
      spec: kernelVm('v2'),
      settings: { capabilities: [], parameters: {} },
      tls: true,
      options: MigrationOptions.parse({}),
    });
    expectApiError(reply(res), 403, 'VMHOP_ERR_PEER_NOT_OF_JOB');
    expect(agent.services.jobStore.find(jobId)).toBeUndefined();
    expect(await agent.vmNames()).toEqual([]);
  });

  it('refuses a prepare from `x` naming itself for a job `a` already runs here', async () => {
    const { id } = await jobOfA();
    const res = await as(certs.x).call(
      'POST',
      '/v1/peer/offline',
      offlinePrepare({ jobId: id, source: 'x' }),
    );
    expectApiError(reply(res), 403, 'VMHOP_ERR_PEER_NOT_OF_JOB', /names `a`/);
    expect(agent.services.jobStore.get(id).state).toBe('running');
  });

  it('refuses a peer route to a certificate of another CA, even one named like the source', async () => {
    const res = await as(stranger).call('POST', '/v1/peer/offline', offlinePrepare());
    expectApiError(reply(res), 401, 'VMHOP_ERR_AUTH_MISSING');
  });
});

describe("a job's later calls come only from the agent it names", () => {
  beforeEach(() => startAgent());

  it('refuses finish, post-copy, abort, commit, pause and job info on a job of `a` from `x`', async () => {
    const { id } = await jobOfA();
    const x = as(certs.x);
    const v = { protocolVersion: PROTOCOL_VERSION };
    const calls: [string, string, unknown][] = [
      ['POST', `/v1/peer/migrations/${id}/finish`, v],
      ['POST', `/v1/peer/migrations/${id}/postcopy`, { ...v, action: 'commit' }],
      ['POST', `/v1/peer/migrations/${id}/abort`, { ...v, reason: 'x says so' }],
      ['POST', `/v1/peer/offline/${id}/commit`, { ...v, jobId: id, manifests: [] }],
      ['POST', `/v1/peer/offline/${id}/pause`, { ...v, reason: 'x says so' }],
      ['GET', `/v1/peer/migrations/${id}`, undefined],
    ];
    for (const [method, path, body] of calls) {
      const res = await x.call(method as 'GET' | 'POST', path, body);
      expectApiError(reply(res), 403, 'VMHOP_ERR_PEER_NOT_OF_JOB', /may not act on job/);
    }
    expect(agent.services.jobStore.get(id).state).toBe('running');
    const abort = await as(certs.a).call('POST', `/v1/peer/migrations/${id}/abort`, {
      ...v,
      reason: 'a cancels',
    });
    expect(abort.status, abort.text).toBe(200);
    expect(agent.services.jobStore.get(id).state).toBe('cancelled');
  });

  it("takes data chunks and their sync only from the job source's certificate, even with the job's token", async () => {
    const { id, prep } = await jobOfA();
    const { port, token } = prep.body as { port: number; token: string };
    const chunk = Buffer.alloc(4096, 0x77);
    const put = (cert: IssuedCert) =>
      as(cert, `https://127.0.0.1:${port}`).call('PUT', '/chunk?key=src%2Fd1.img&offset=0', chunk, {
        'x-vmhop-token': token,
        'x-vmhop-sha256': createHash('sha256').update(chunk).digest('hex'),
        'content-type': 'application/octet-stream',
      });
    const partial = join(agent.defaultPoolDir, `.vmhop-partial-${id}-d1.img`);
    const refused = await put(certs.x!);
    expect(refused.status, refused.text).toBe(403);
    expect(await readFile(`${partial}.chunks`, 'utf8').catch(() => '')).toBe('');
    const taken = await put(certs.a!);
    expect(taken.status, taken.text).toBe(204);
    // A chunk is logged once a sync covers it: /sync, also only from the source's certificate.
    const sync = (cert: IssuedCert) =>
      as(cert, `https://127.0.0.1:${port}`).call('POST', '/sync?key=src%2Fd1.img', undefined, {
        'x-vmhop-token': token,
      });
    expect((await sync(certs.x!)).status).toBe(403);
    expect(await readFile(`${partial}.chunks`, 'utf8').catch(() => '')).toBe('');
    const synced = await sync(certs.a!);
    expect(synced.status, synced.text).toBe(204);
    expect(await readFile(`${partial}.chunks`, 'utf8')).toMatch(/^0 4096 [0-9a-f]{64}\n$/);
  });
});

describe('client routes and peer certificates', () => {
  it('refuses a peer certificate in place of a token on a client route', async () => {
    await startAgent();
    const res = await as(certs.a).call('POST', '/v1/pools/default/volumes', {
      name: 'n.qcow2',
      sizeBytes: 1 << 20,
    });
    expectApiError(reply(res), 403, 'VMHOP_ERR_AUTH_PEER_CERT', /peerCertificatesAsClients/);
    expect(agent.defaultPoolFiles().filter((f) => !f.startsWith('.vmhop'))).toEqual([]);
    const withToken = await as(certs.a).call('GET', '/v1/vms', undefined, {
      authorization: `Bearer ${TOKEN}`,
    });
    expect(withToken.status, withToken.text).toBe(200);
  });

  it('takes a peer certificate on a client route when peerCertificatesAsClients is set', async () => {
    await startAgent({ peerCertificatesAsClients: true });
    const res = await as(certs.a).call('GET', '/v1/vms');
    expect(res.status, res.text).toBe(200);
  });

  it('still refuses a client token on a peer route', async () => {
    await startAgent();
    const res = await as(undefined).call('GET', '/v1/peer/host', undefined, {
      authorization: `Bearer ${TOKEN}`,
    });
    expectApiError(reply(res), 403, 'VMHOP_ERR_PEER_ONLY');
  });
});
