// Peer-only routes (/v1/peer/*) answer only peer agents presenting a cluster certificate:
// a client token is not enough, however the path is spelt. The decision is taken on the
// route that matched, not on the URL text, which the router percent-decodes first.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/agent/http/app.js';
import { PROTOCOL_VERSION } from '../../src/protocol/host.js';
import { MigrationOptions } from '../../src/protocol/migration.js';
import { expectApiError } from './helpers/api-expect.js';
import { clusterCerts } from './helpers/peer-tls.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
});
afterEach(async () => {
  await agent.close();
});

const bearer = { authorization: 'Bearer secret' };

describe('peer-only routes with a client token', () => {
  for (const url of ['/v1/peer/host', '/v1/%70eer/host', '/v1/%70%65%65%72/host', '/v1/peer/%68ost']) {
    it(`refuses GET ${url} with 403 VMHOP_ERR_PEER_ONLY`, async () => {
      const res = await agent.raw({ method: 'GET', url, headers: bearer });
      expectApiError(res, 403, 'VMHOP_ERR_PEER_ONLY', /peer agents/);
    });
  }

  it('refuses an encoded abort of a job with 403 and runs nothing', async () => {
    const res = await agent.raw({
      method: 'POST',
      url: '/v1/%70eer/migrations/00000000-0000-4000-8000-000000000000/abort',
      headers: bearer,
      payload: { protocolVersion: 1 },
    });
    expectApiError(res, 403, 'VMHOP_ERR_PEER_ONLY');
  });
});

describe('a live prepare for a job id this host already has', () => {
  it('is refused with 409 VMHOP_ERR_MIGRATION_IN_PROGRESS, not a 500, and the job is left as it was', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vmhop-peer-routes-'));
    const certs = await clusterCerts(join(dir, 'tls'), ['t']);
    const target = await TestAgent.start({ name: 't', tls: certs.t });
    // Authentication off: the route's own checks, as a peer agent with the job's certificate reaches them.
    const app = await buildApp({
      services: target.services,
      auth: { tokenHashes: [], disabled: true },
      logger: false,
    });
    try {
      const jobId = randomUUID();
      const options = MigrationOptions.parse({});
      const v = { protocolVersion: PROTOCOL_VERSION, jobId, source: 'a', options };
      const offline = await app.inject({
        method: 'POST',
        url: '/v1/peer/offline',
        payload: { ...v, vm: 'v1', volumeCopy: false, items: [] },
      });
      expect(offline.statusCode, offline.body).toBe(200);
      const boot = { kind: 'kernel' as const, kernel: `${target.dataDir}/vmlinuz`, cmdline: '' };
      const live = await app.inject({
        method: 'POST',
        url: '/v1/peer/migrations',
        payload: {
          ...v,
          mode: 'live-shared',
          spec: kernelVm('v2', { boot }),
          settings: { capabilities: [], parameters: {} },
          tls: true,
        },
      });
      const res = { status: live.statusCode, body: live.json(), text: live.body, headers: {} };
      expectApiError(
        res,
        409,
        'VMHOP_ERR_MIGRATION_IN_PROGRESS',
        new RegExp(jobId),
        /offline target of `v1`/,
      );
      expect(target.services.jobStore.get(jobId)).toMatchObject({ mode: 'offline', state: 'running' });
      expect(await target.vmNames()).toEqual([]);
    } finally {
      await app.close();
      await target.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
