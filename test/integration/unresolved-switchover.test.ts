// A switchover whose outcome nobody knew (issue 13's double run): the source job ended
// `needs-operator` with its QEMU paused, and only the target's registry knows who owns the VM.
// Two agents in one process (a direct peer link that can be cut), the source VM a real QEMU
// started paused, the jobs as the engine leaves them. What must hold: the VM cannot be resumed,
// started or restored on the source meanwhile; the source follows the target's record as soon
// as the target answers (retire if it committed; resume if it did not, after it gave up); and
// `vmhop job resolve` decides only what the target confirms, or with --force when it is gone.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { UnresolvedFollower } from '../../src/agent/migration/unresolved.js';
import { MigrationOptions } from '../../src/protocol/migration.js';
import { expectApiError } from './helpers/api-expect.js';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import { agentPair } from './helpers/agent-pair.js';
import { TestAgent } from './helpers/test-agent.js';
import type { AgentServices } from '../../src/agent/services.js';
import { testGuest } from './helpers/vm-specs.js';

const guest = testGuest();
let agents: TestAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((x) => x.close()));
  agents = [];
});

/** A peer link that answers nothing while `down` (the links were cut). */
class CuttableLink extends DirectPeerLink {
  down = false;
  constructor(name: string, target: AgentServices) {
    super(name, target);
    for (const m of ['job', 'abort', 'finish', 'hostInfo'] as const) {
      const real = (this as unknown as Record<string, (...a: unknown[]) => unknown>)[m]!.bind(this);
      (this as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => {
        if (this.down) return Promise.reject(new Error('connect ETIMEDOUT (links cut)'));
        return real(...args);
      };
    }
  }
}

/**
 * Source `a` with VM `v1` paused in a real QEMU and its job `needs-operator` at phase finish;
 * target `b` with the target side of that job in `targetState` (committed: phase finish).
 */
async function unresolved(target: 'committed' | 'running' | 'failed' | 'none', guestWasRunning?: boolean) {
  const { a, b, link } = await agentPair(agents, {
    paused: true,
    link: (name, t) => new CuttableLink(name, t),
  });
  const id = randomUUID();
  const options = MigrationOptions.parse({ insecure: true });
  const job = { id, vm: 'v1', mode: 'live-shared' as const, options };
  a.services.jobStore.create({
    ...job,
    role: 'source',
    peer: 'b',
    phase: 'begin',
    ...(guestWasRunning === undefined ? {} : { guestWasRunning }),
  });
  a.services.jobStore.advance(id, 'finish', 'RAM and device state sent; asking the target to commit');
  a.services.jobStore.end(id, 'needs-operator', {
    result: 'needs-operator',
    totalMs: 61_000,
    encrypted: false,
    options,
    notes: [],
    error: { code: 'VMHOP_ERR_MIGRATION_OUTCOME_UNKNOWN', message: 'no answer from `b`' },
  });
  if (target !== 'none') {
    b.services.jobStore.create({ ...job, role: 'target', peer: 'a', phase: 'prepare' });
    if (target === 'committed') {
      b.services.jobStore.advance(id, 'finish', 'target owns the VM (commit record written)');
      b.services.jobStore.end(id, 'completed');
    } else if (target === 'failed') b.services.jobStore.end(id, 'failed');
  }
  return { a, b, id, link };
}

const vmState = async (a: TestAgent) => (await a.api('GET', '/v1/vms/v1')).body.state as string | undefined;

describe.skipIf(!guest)('a switchover of unknown outcome', () => {
  it('refuses resume, start and restore of the VM on the source, naming the job and `vmhop job resolve`', async () => {
    const { a, id } = await unresolved('committed');
    const resumed = await a.api('POST', '/v1/vms/v1/resume', {});
    expectApiError(
      resumed,
      409,
      'VMHOP_ERR_MIGRATION_UNRESOLVED',
      new RegExp(`cannot resume VM \`v1\`: its migration to \`b\` \\(job ${id}\\) has an unknown outcome`),
      new RegExp(`vmhop job resolve ${id} --source-runs`),
    );
    expect(await vmState(a)).toBe('paused');
    await a.api('POST', '/v1/vms/v1/destroy', {}).catch(() => undefined);
    for (const verb of ['start', 'restore']) {
      expectApiError(await a.api('POST', `/v1/vms/v1/${verb}`, {}), 409, 'VMHOP_ERR_MIGRATION_UNRESOLVED');
    }
  });

  it('follows the target once the links come back: it had committed, so the source is retired', async () => {
    const { a, id, link } = await unresolved('committed');
    link.down = true;
    const follower = new UnresolvedFollower(a.services.migration, { windowMs: 60_000, firstDelayMs: 50 });
    try {
      follower.followAll();
      await until(() =>
        a.services.jobStore.journalOf(id).some((l) => /cannot be asked: connect ETIMEDOUT/.test(l.entry)),
      );
      expect(await vmState(a)).toBe('paused');
      link.down = false;
      await until(() => a.services.jobStore.get(id).state !== 'needs-operator');
    } finally {
      follower.close();
    }
    expect(a.services.jobStore.get(id)).toMatchObject({ state: 'completed' });
    expect(a.services.jobStore.get(id).report?.notes.at(-1)).toMatch(
      /`b` had committed .*the source copy was retired/,
    );
    expect(a.services.vmStore.get('v1')).toBeUndefined();
  });

  it('resumes the source when the target never committed and gives up when asked', async () => {
    const { a, b, id } = await unresolved('running');
    const follower = new UnresolvedFollower(a.services.migration, { windowMs: 60_000, firstDelayMs: 50 });
    try {
      follower.followAll();
      await until(() => a.services.jobStore.get(id).state !== 'needs-operator');
    } finally {
      follower.close();
    }
    expect(a.services.jobStore.get(id)).toMatchObject({ state: 'failed' });
    expect(await vmState(a)).toBe('running');
    expect(b.services.jobStore.get(id).state).toBe('failed');
    // Settled: the VM is the source's again.
    expect((await a.api('POST', '/v1/vms/v1/suspend', {})).status).toBe(200);
    expect((await a.api('POST', '/v1/vms/v1/resume', {})).status).toBe(200);
  });

  it('resolve --source-runs is refused while the target says it committed; --target-runs retires the source', async () => {
    const { a, id } = await unresolved('committed');
    expectApiError(
      await a.api('POST', `/v1/jobs/${id}/resolve`, { runs: 'source' }),
      409,
      'VMHOP_ERR_VM_STATE',
      /`b` committed job .*Use --target-runs/,
    );
    expect(await vmState(a)).toBe('paused');
    const r = await a.api('POST', `/v1/jobs/${id}/resolve`, { runs: 'target' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.state).toBe('completed');
    expect(a.services.vmStore.get('v1')).toBeUndefined();
  });

  it('resolve --target-runs is refused when the target never committed; --source-runs resumes the source', async () => {
    const { a, id } = await unresolved('failed');
    expectApiError(
      await a.api('POST', `/v1/jobs/${id}/resolve`, { runs: 'target' }),
      409,
      'VMHOP_ERR_VM_STATE',
      /never committed .*Use --source-runs/,
    );
    const r = await a.api('POST', `/v1/jobs/${id}/resolve`, { runs: 'source' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.state).toBe('failed');
    expect(await vmState(a)).toBe('running');
  });

  it('resolve with the target unreachable needs --force, and then does what the operator says', async () => {
    const { a, id, link } = await unresolved('committed');
    link.down = true;
    expectApiError(
      await a.api('POST', `/v1/jobs/${id}/resolve`, { runs: 'source' }),
      503,
      'VMHOP_ERR_HOST_UNREACHABLE',
      /cannot ask `b` whether it committed .*add --force/,
    );
    expect(await vmState(a)).toBe('paused');
    const r = await a.api('POST', `/v1/jobs/${id}/resolve`, { runs: 'source', force: true });
    expect(r.status, r.text).toBe(200);
    expect(r.body.report.notes.at(-1)).toMatch(/the operator decided the source runs it \(--force\)/);
    expect(await vmState(a)).toBe('running');
  });

  it('a target with no record of the job never committed: the source runs again', async () => {
    const { a, id } = await unresolved('none');
    const r = await a.api('POST', `/v1/jobs/${id}/resolve`, { runs: 'source' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.report.notes.at(-1)).toMatch(/`b` has no record of job/);
    expect(await vmState(a)).toBe('running');
  });
});

async function until(ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!guest)('a guest paused before its migration', () => {
  it('stays paused when an unresolved switchover is settled for the source', async () => {
    const { a, id } = await unresolved('failed', false);
    const r = await a.api('POST', `/v1/jobs/${id}/resolve`, { runs: 'source' });
    expect(r.status, r.text).toBe(200);
    expect(r.body.report.notes.at(-1)).toMatch(
      /is paused, as it was before the migration, on the source again/,
    );
    expect(await vmState(a)).toBe('paused');
  });

  it('stays paused when a restarted source agent rolls back a migration that had not switched over', async () => {
    const { a } = await agentPair(agents, { paused: true });
    for (const guestWasRunning of [false, true]) {
      const id = randomUUID();
      const options = MigrationOptions.parse({ insecure: true });
      a.services.jobStore.create({
        id,
        vm: 'v1',
        mode: 'live-shared',
        options,
        role: 'source',
        peer: 'b',
        phase: 'begin',
        guestWasRunning,
      });
      a.services.jobStore.advance(id, 'perform', 'RAM copy running when the agent died');
      await a.services.engine.recover();
      expect(a.services.jobStore.get(id).state).toBe('failed');
      expect(await vmState(a)).toBe(guestWasRunning ? 'running' : 'paused');
    }
  });
});

describe("the target's answer to a finish asked again", () => {
  async function targetJob(end: 'committed-then-failed' | 'cancelled-before-commit') {
    const b = await TestAgent.start({ name: 'b' });
    agents.push(b);
    const id = randomUUID();
    const options = MigrationOptions.parse({ insecure: true });
    b.services.jobStore.create({
      id,
      vm: 'v1',
      mode: 'live-shared',
      options,
      role: 'target',
      peer: 'a',
      phase: 'prepare',
    });
    if (end === 'committed-then-failed') {
      b.services.jobStore.advance(id, 'finish', 'target owns the VM (commit record written)');
      b.services.jobStore.end(id, 'failed'); // its QEMU died after the commit
    } else b.services.jobStore.end(id, 'cancelled');
    return { b, id };
  }

  it('is "committed" when the target committed and failed afterwards: the source must never run the VM again', async () => {
    const { b, id } = await targetJob('committed-then-failed');
    await expect(b.services.engine.target.finish(id)).resolves.toEqual({ handledMs: expect.any(Number) });
    await expect(b.services.engine.target.postcopy(id, 'commit')).resolves.toEqual({ status: 'committed' });
    expect(b.services.jobStore.journalOf(id).at(-1)?.entry).toMatch(
      /finish asked again after the commit; the job ended failed/,
    );
  });

  it('is a 409 VMHOP_ERR_JOB_ENDED (not a 500) when the job ended before any commit', async () => {
    const { b, id } = await targetJob('cancelled-before-commit');
    await expect(b.services.engine.target.finish(id)).rejects.toMatchObject({
      code: 'VMHOP_ERR_JOB_ENDED',
      message: expect.stringMatching(/already ended cancelled before any commit/),
    });
    await expect(b.services.engine.target.postcopy(id, 'commit')).rejects.toMatchObject({
      code: 'VMHOP_ERR_JOB_ENDED',
    });
  });
});
