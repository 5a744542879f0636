// An agent whose registry holds VM `v1` (defined, no QEMU) and one running migration job of it
// at a given phase, as the engine leaves them: for the rules that read the job registry alone
// (restart recovery, refusals of VM actions), without a migration to get there.
import { randomUUID } from 'node:crypto';
import type { Role } from '../../../src/agent/db/job-store.js';
import { MigrationOptions, type Phase } from '../../../src/protocol/migration.js';
import { VmSpec } from '../../../src/protocol/vm-spec.js';
import { TestAgent } from './test-agent.js';
import { kernelVm } from './vm-specs.js';

export async function agentWithJob(o: {
  name: string;
  role: Role;
  phase: Phase;
  postcopy: boolean;
}): Promise<{ agent: TestAgent; id: string }> {
  const agent = await TestAgent.start({ name: o.name });
  agent.services.vmStore.insert(VmSpec.parse(kernelVm('v1')));
  const id = randomUUID();
  const first = o.role === 'source' ? 'begin' : 'prepare';
  agent.services.jobStore.create({
    id,
    vm: 'v1',
    mode: 'live-shared',
    options: MigrationOptions.parse({ insecure: true, postcopy: o.postcopy }),
    role: o.role,
    peer: o.role === 'source' ? 'b' : 'a',
    phase: first,
  });
  if (o.phase !== first) agent.services.jobStore.advance(id, o.phase, `phase ${o.phase}`);
  return { agent, id };
}
