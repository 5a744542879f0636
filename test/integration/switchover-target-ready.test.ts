// At the pre-switchover pause the source asks the target's agent to confirm it is ready before
// anything is asked to commit (issue 13, "paused for nothing"): a target agent that does not
// answer (frozen by SIGSTOP, say) is a known outcome there, so the source rolls back after
// the 2 s bound instead of sitting paused for the minute of commit retries and ending
// needs-operator. Two agents in one process over a direct peer link, real QEMU on both sides,
// the guest paused throughout (what is checked is the engine's, not the guest's).
import { afterEach, describe, expect, it } from 'vitest';
import { TARGET_READY_TIMEOUT_MS } from '../../src/agent/migration/outgoing/target-ready.js';
import { settleRetirements } from '../../src/agent/migration/outgoing/retire-source.js';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import { agentPair, migrateV1 } from './helpers/agent-pair.js';
import type { TestAgent } from './helpers/test-agent.js';
import { testGuest } from './helpers/vm-specs.js';

const guest = testGuest();
let agents: TestAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((x) => x.close()));
  agents = [];
});

/** A link whose job() never answers while `frozen`, as a stopped agent's socket would. */
class FreezableLink extends DirectPeerLink {
  frozen = false;
  override job(jobId: string) {
    return this.frozen ? new Promise<never>(() => undefined) : super.job(jobId);
  }
}

const pair = () => agentPair(agents, { paused: true, link: (name, b) => new FreezableLink(name, b) });

const migrate = async (a: TestAgent) => {
  return migrateV1(a);
};

describe.skipIf(!guest)('the target confirms it is ready at the switchover', () => {
  it('rolls back within the bound when the target agent does not answer, and a later migration succeeds', async () => {
    const { a, b, link } = await pair();
    link.frozen = true;
    const job = await migrate(a);
    expect(job.state).toBe('failed');
    expect(job.report?.error?.message).toMatch(
      new RegExp(
        `the agent of \`b\` did not confirm it is ready at the switchover \\(no answer within ${TARGET_READY_TIMEOUT_MS} ms\\); nothing was committed`,
      ),
    );
    // The source has its VM (paused as before: it was paused when the move began); the target nothing.
    expect(a.services.vmStore.get('v1')?.state).toBe('paused');
    expect(b.services.vmStore.get('v1')).toBeUndefined();
    expect(b.services.jobStore.get(job.id).state).toBe('failed');
    link.frozen = false;
    const again = await migrate(a);
    expect(again.state, JSON.stringify(again.report)).toBe('completed');
    // Paused on the source when it began, so paused on the target too (as virsh migrate does).
    expect(b.services.vmStore.get('v1')?.state).toBe('paused');
    // The job ends when b runs the VM; the source's retirement follows it.
    await settleRetirements(a.services.migration);
    expect(a.services.vmStore.get('v1')).toBeUndefined();
  });
});
