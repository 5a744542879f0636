// `destroy` of the source of a migration past its switchover: the source QEMU then holds what the
// target still needs (its paused state until the commit; with post-copy, every page the guest on
// the target has not fetched yet), so a power-off there can leave the VM nowhere. It is refused,
// naming the job and --force; before the switchover (the RAM copy) a destroy goes ahead as ever
// and the migration fails with it. No QEMU: the refusal comes before the VM's monitor is asked,
// and a destroy that goes ahead ends on the VM not running.
import { afterEach, describe, it } from 'vitest';
import type { Phase } from '../../src/protocol/migration.js';
import { expectApiError } from './helpers/api-expect.js';
import { agentWithJob } from './helpers/job-in-registry.js';
import type { TestAgent } from './helpers/test-agent.js';

let agent: TestAgent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
});

async function sourceAt(phase: Phase) {
  const made = await agentWithJob({ name: 'a', role: 'source', phase, postcopy: true });
  agent = made.agent;
  return { a: made.agent, id: made.id };
}

const notRunning = /VM `v1` is not running/;

describe('destroy of a migration source', () => {
  it('is refused past the switchover, naming the job and --force', async () => {
    const { a, id } = await sourceAt('finish');
    expectApiError(
      await a.api('POST', '/v1/vms/v1/destroy', {}),
      409,
      'VMHOP_ERR_VM_STATE',
      new RegExp(`source of migration job ${id} to \`b\`, past its switchover`),
      /the pages the guest there has not fetched/,
      /vmhop destroy v1 --force/,
    );
  });

  it('goes ahead with --force', async () => {
    const { a } = await sourceAt('finish');
    expectApiError(
      await a.api('POST', '/v1/vms/v1/destroy', { force: true }),
      409,
      'VMHOP_ERR_VM_STATE',
      notRunning,
    );
  });

  it('goes ahead during the RAM copy, before any switchover', async () => {
    const { a } = await sourceAt('perform');
    expectApiError(await a.api('POST', '/v1/vms/v1/destroy', {}), 409, 'VMHOP_ERR_VM_STATE', notRunning);
  });
});
