// POST /v1/migrations at the HTTP edge: refusals that need no peer and start nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectApiError, literally } from './helpers/api-expect.js';
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
    [
      'live-copy',
      { postcopy: true, copyStorage: 'all' },
      /--postcopy: post-copy is available only .*--copy-storage/,
    ],
    [
      'live-copy',
      { postcopy: true, postcopyAfterPrecopy: true, copyStorage: 'inc' },
      /--postcopy, --postcopy-after-precopy: /,
    ],
    [
      'offline',
      { postcopy: true, timeoutS: 60, timeoutAction: 'postcopy' },
      /--timeout-action postcopy: .*offline/,
    ],
  ])(
    'refuses post-copy for a %s migration (%o) with 400 VMHOP_ERR_MIGRATION_OPTIONS before anything starts',
    async (mode, options, msg) => {
      const res = await agent.api('POST', '/v1/migrations', { vm: 'web1', to: 'b', mode, options });
      expectApiError(res, 400, 'VMHOP_ERR_MIGRATION_OPTIONS', msg);
      expect((await agent.api('GET', '/v1/jobs')).body).toEqual({ jobs: [] });
    },
  );

  it('accepts post-copy options for live-shared: the request goes on to the VM lookup', async () => {
    const res = await migrate({ postcopy: true, postcopyAfterPrecopy: true });
    expectApiError(res, 404, 'VMHOP_ERR_VM_NOT_FOUND', /`web1`/);
  });

  it('answers migrate-postcopy for a VM with no running migration with 404 VMHOP_ERR_JOB_NOT_FOUND', async () => {
    expectApiError(
      await agent.api('POST', '/v1/vms/web1/job/postcopy'),
      404,
      'VMHOP_ERR_JOB_NOT_FOUND',
      /`web1`/,
    );
  });

  it('answers a migration of an unknown VM with 404 VMHOP_ERR_VM_NOT_FOUND', async () => {
    expectApiError(await migrate({}), 404, 'VMHOP_ERR_VM_NOT_FOUND', /`web1`/);
  });

  it('refuses a mode that is not one, naming the field', async () => {
    const res = await agent.api('POST', '/v1/migrations', { vm: 'web1', to: 'b', mode: 'teleport' });
    expectApiError(res, 400, 'VMHOP_ERR_USAGE', /mode/);
  });
});

describe('a target pool that is not a pool name', () => {
  it.each(['../../x', '/etc', 'a b', 'x'.repeat(300)])(
    'is refused at the edge with 400 naming it (%s), for a migration and for a volume copy, and starts no job',
    async (targetPool) => {
      const shown = targetPool.length > 100 ? /targetPool/ : literally(targetPool);
      const mig = await migrate({ targetPool });
      expectApiError(mig, 400, 'VMHOP_ERR_USAGE', /options\.targetPool: a pool name/, shown);
      const copy = await agent.api('POST', '/v1/volumes/copy', {
        pool: 'default',
        volume: 'd1',
        to: 'b',
        targetPool,
      });
      expectApiError(copy, 400, 'VMHOP_ERR_USAGE', /targetPool: a pool name/, shown);
      expect((await agent.api('GET', '/v1/jobs')).body).toEqual({ jobs: [] });
    },
  );
});
