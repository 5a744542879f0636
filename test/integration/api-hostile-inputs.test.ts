// Smaller holes of issue 12 (finding 8) at the agent's edge: a peer name that is a member of
// every JavaScript object is no peer, a body over the limit is 413, and a shared pool whose
// directory takes no marker is the definer's error (4xx), not the agent's (500). After each
// test no file outside the agent's data and run folders was made or changed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectApiError } from './helpers/api-expect.js';
import { filesUnder } from './helpers/peer-tls.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let agent: TestAgent;
let before: Record<string, string>;
beforeEach(async () => {
  agent = await TestAgent.start();
  before = await filesUnder(agent.root, ['data', 'run']);
});
afterEach(async () => {
  try {
    expect(await filesUnder(agent.root, ['data', 'run'])).toEqual(before);
  } finally {
    await agent.close();
  }
});

describe('hostile inputs at the API edge', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty'])(
    'answers a migration to peer `%s` with 404 VMHOP_ERR_PEER_UNKNOWN and starts no job',
    async (to) => {
      const def = await agent.api('POST', '/v1/vms', { spec: kernelVm('web1') });
      expect(def.status, def.text).toBe(201);
      const res = await agent.api('POST', '/v1/migrations', { vm: 'web1', to, mode: 'offline' });
      expectApiError(res, 404, 'VMHOP_ERR_PEER_UNKNOWN', /is not a peer of `t`; peers: \(none\)/);
      expect((await agent.api('GET', '/v1/jobs')).body).toEqual({ jobs: [] });
    },
  );

  it('answers a body over the 4 MiB limit with 413 VMHOP_ERR_REQUEST_TOO_LARGE', async () => {
    const res = await agent.raw({
      method: 'POST',
      url: '/v1/pools',
      headers: { authorization: 'Bearer secret', 'content-type': 'application/json' },
      payload: `{"name":"${'x'.repeat(5 * 1024 * 1024)}"}`,
    });
    expectApiError(res, 413, 'VMHOP_ERR_REQUEST_TOO_LARGE');
  });

  it.each(['/proc', '/sys'])(
    'refuses a shared pool at %s, even where the config allows it, with 400 VMHOP_ERR_POOL_INVALID and defines nothing',
    async (path) => {
      const lax = await TestAgent.start({ allowedPoolRoots: [path] });
      const res = await lax
        .api('POST', '/v1/pools', { name: 'p', kind: 'shared', path })
        .finally(() => lax.close());
      expectApiError(res, 400, 'VMHOP_ERR_POOL_INVALID', /identity marker/, new RegExp(path));
    },
  );
});
