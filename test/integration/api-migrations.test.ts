// POST /v1/migrations at the HTTP edge: refusals that need no peer and start nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectApiError } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
});
afterEach(async () => {
  await agent.close();
});

const migrate = (options: Record<string, unknown>) =>
  agent.api('POST', '/v1/migrations', { vm: 'web1', to: 'b', mode: 'live-shared', options });

describe('migration requests', () => {
  it.each([
    [{ postcopy: true }, /--postcopy: post-copy is not available/],
    [{ postcopy: true, postcopyAfterPrecopy: true }, /--postcopy-after-precopy/],
    [{ postcopy: true, timeoutS: 60, timeoutAction: 'postcopy' }, /--timeout-action postcopy/],
  ])(
    'refuses post-copy options %o with 400 VMHOP_ERR_MIGRATION_OPTIONS instead of running pre-copy silently',
    async (options, msg) => {
      expectApiError(await migrate(options), 400, 'VMHOP_ERR_MIGRATION_OPTIONS', msg);
      expect((await agent.api('GET', '/v1/jobs')).body).toEqual({ jobs: [] });
    },
  );

  it('answers a migration of an unknown VM with 404 VMHOP_ERR_VM_NOT_FOUND', async () => {
    expectApiError(await migrate({}), 404, 'VMHOP_ERR_VM_NOT_FOUND', /`web1`/);
  });

  it('refuses a mode that is not one, naming the field', async () => {
    const res = await agent.api('POST', '/v1/migrations', { vm: 'web1', to: 'b', mode: 'teleport' });
    expectApiError(res, 400, 'VMHOP_ERR_USAGE', /mode/);
  });
});
