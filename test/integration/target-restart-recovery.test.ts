// A target agent restarted after its commit, whose VM's QEMU monitor it cannot reach (QEMU gone,
// or not reattached): with post-copy the job cannot end "completed", which would tell the source
// that every page arrived and let it retire the only copy of the pages still missing here. It ends
// needs-operator, naming why; a pre-copy commit had every page already and completes.
import { afterEach, describe, expect, it } from 'vitest';
import { agentWithJob } from './helpers/job-in-registry.js';
import type { TestAgent } from './helpers/test-agent.js';

let agent: TestAgent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
});

async function committedTargetJob(postcopy: boolean) {
  const made = await agentWithJob({ name: 'b', role: 'target', phase: 'finish', postcopy });
  agent = made.agent;
  await agent.services.engine.recover();
  return { job: agent.services.jobStore.get(made.id), journal: agent.services.jobStore.journalOf(made.id) };
}

describe('restart recovery of a committed target job without its QEMU monitor', () => {
  it('post-copy: needs an operator, never completed on a guess', async () => {
    const { job, journal } = await committedTargetJob(true);
    expect(job.state).toBe('needs-operator');
    expect(journal.map((l) => l.entry).join('\n')).toMatch(
      /cannot reach `v1`'s QEMU monitor: whether every post-copy page arrived is unknown; the source keeps its QEMU/,
    );
  });

  it('pre-copy: every page had arrived before the commit, so the job completes', async () => {
    const { job } = await committedTargetJob(false);
    expect(job.state).toBe('completed');
  });
});
