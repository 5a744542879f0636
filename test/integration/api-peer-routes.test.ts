// Peer-only routes (/v1/peer/*) answer only peer agents presenting a cluster certificate:
// a client token is not enough, however the path is spelt. The decision is taken on the
// route that matched, not on the URL text, which the router percent-decodes first.
import { afterEach, beforeEach, describe, it } from 'vitest';
import { expectApiError } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';

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
