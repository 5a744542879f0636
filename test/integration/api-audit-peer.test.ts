// The audit log on a migration's target: what a peer agent asks of this host is recorded
// under the peer's name (its certificate's CN), refused calls included, and the end of the
// job it started is credited to it. Over real HTTPS with cluster certificates on loopback.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IssuedCert } from '../../src/credentials/ca.js';
import { PROTOCOL_VERSION } from '../../src/protocol/host.js';
import { MigrationOptions } from '../../src/protocol/migration.js';
import { clusterCerts, PeerClient } from './helpers/peer-tls.js';
import { TestAgent } from './helpers/test-agent.js';

let sandbox: string;
let certs: Record<string, IssuedCert>;
let agent: TestAgent;
const clients: PeerClient[] = [];

beforeAll(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'vmhop-audit-peer-'));
  certs = await clusterCerts(join(sandbox, 'cluster'), ['t', 'a', 'x']);
});
afterAll(async () => {
  await rm(sandbox, { recursive: true, force: true });
});
let url: string;
beforeEach(async () => {
  agent = await TestAgent.start({ name: 't', tls: certs.t });
  url = await agent.listen();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await agent.close();
});

function as(cert: IssuedCert): PeerClient {
  const c = new PeerClient(url, certs.t!.ca, cert);
  clients.push(c);
  return c;
}

const offlinePrepare = (jobId: string) => ({
  protocolVersion: PROTOCOL_VERSION,
  jobId,
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
});

describe('what peers do here', () => {
  it('records a prepare and an abort by `a`, the refused prepare of `x`, and the job end credited to `a`', async () => {
    const jobId = randomUUID();
    expect((await as(certs.a!).call('POST', '/v1/peer/offline', offlinePrepare(jobId))).status).toBe(200);
    const refused = await as(certs.x!).call('POST', '/v1/peer/offline', offlinePrepare(randomUUID()));
    expect(refused.status).toBe(403);
    const abort = await as(certs.a!).call('POST', `/v1/peer/migrations/${jobId}/abort`, {
      protocolVersion: PROTOCOL_VERSION,
    });
    expect(abort.status, abort.text).toBe(200);
    const entries = (await agent.api('GET', '/v1/audit')).body.entries as Record<string, unknown>[];
    const brief = entries.reverse().map((e) => ({
      who: e.who,
      whoKind: e.whoKind,
      action: e.action,
      outcome: e.outcome,
      jobId: e.jobId,
    }));
    expect(brief).toEqual([
      { who: 'a', whoKind: 'peer', action: 'migration.prepare', outcome: 'ok', jobId },
      {
        who: 'x',
        whoKind: 'peer',
        action: 'migration.prepare',
        outcome: 'VMHOP_ERR_PEER_NOT_OF_JOB',
        jobId: expect.any(String),
      },
      { who: 'a', whoKind: 'peer', action: 'migration.end', outcome: 'VMHOP_ERR_MIGRATION_CANCELLED', jobId },
      { who: 'a', whoKind: 'peer', action: 'migration.abort', outcome: 'ok', jobId },
    ]);
    expect(entries[0]).toMatchObject({ target: 'vm/v1' });
  });
});
