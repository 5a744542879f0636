// `destroy` of the source of a migration past its switchover: the source QEMU then holds what the
// target still needs (its paused state until the commit; with post-copy, every page the guest on
// the target has not fetched yet), so a power-off there can leave the VM nowhere. It is refused,
// naming the job and --force; before the switchover (the RAM copy) a destroy goes ahead as ever
// and the migration fails with it. No QEMU: the refusal comes before the VM's monitor is asked,
// and a destroy that goes ahead ends on the VM not running.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from 'vitest';
import { VmSpec } from '../../src/protocol/vm-spec.js';
import { MigrationOptions, type Phase } from '../../src/protocol/migration.js';
import { expectApiError } from './helpers/api-expect.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm } from './helpers/vm-specs.js';

let agent: TestAgent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
});

async function sourceAt(phase: Phase) {
  agent = await TestAgent.start({ name: 'a' });
  agent.services.vmStore.insert(VmSpec.parse(kernelVm('v1')));
  const id = randomUUID();
  agent.services.jobStore.create({
    id,
    vm: 'v1',
    mode: 'live-shared',
    options: MigrationOptions.parse({ insecure: true, postcopy: true }),
    role: 'source',
    peer: 'b',
    phase: 'begin',
  });
  if (phase !== 'begin') agent.services.jobStore.advance(id, phase, `phase ${phase}`);
  return { a: agent, id };
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
