// The source's retirement after the commit (issue 14): off the job's critical path, yet journaled
// and never cut short for good. Two agents in one process, a real QEMU for `v1` on `a`. What must
// hold: the job ends before the source is retired; from the commit on the paused source cannot be
// resumed (nor started) on `a`; a retirement an agent restart cut off is finished at the next start.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { settleRetirements } from '../../src/agent/migration/outgoing/retire-source.js';
import { isAlive } from '../../src/agent/process/signals.js';
import { MigrationOptions } from '../../src/protocol/migration.js';
import { expectApiError } from './helpers/api-expect.js';
import { agentPair, startMigration } from './helpers/agent-pair.js';
import type { TestAgent } from './helpers/test-agent.js';
import { testGuest } from './helpers/vm-specs.js';

const guest = testGuest();
let agents: TestAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((x) => x.close()));
  agents = [];
});

const entries = (a: TestAgent, id: string) => a.services.jobStore.journalOf(id).map((l) => l.entry);

describe.skipIf(!guest)("the source's retirement", () => {
  it('ends the job when the target runs the VM, then retires the source, journaled after the end', async () => {
    const { a, b } = await agentPair(agents);
    const id = await startMigration(a);
    const job = await a.services.engine.wait(id);
    expect(job.state, JSON.stringify(job.report?.error)).toBe('completed');
    await settleRetirements(a.services.migration);
    const journal = entries(a, id);
    const ended = journal.indexOf('ended completed');
    const retired = journal.indexOf('source retired');
    expect(ended, journal.join('\n')).toBeGreaterThan(-1);
    expect(retired, journal.join('\n')).toBeGreaterThan(ended);
    const at = (entry: string) =>
      Date.parse(a.services.jobStore.journalOf(id).find((l) => l.entry === entry)!.at);
    console.log(`source retired ${at('source retired') - at('ended completed')} ms after the job ended`);
    expect(a.services.vmStore.get('v1')).toBeUndefined();
    expect(a.qemuPids()).toEqual([]);
    expect(b.services.vmStore.get('v1')?.state).toBe('running');
  });

  it('refuses to resume the committed source, and retires it at the next start when a restart cut its retirement off', async () => {
    const { a } = await agentPair(agents, { paused: true });
    const pid = a.services.vmStore.get('v1')!.pid!;
    // As the engine leaves a job whose retirement the agent's end cut off: completed, marked
    // moved, the retirement's start journaled and no end.
    const id = randomUUID();
    const options = MigrationOptions.parse({ insecure: true });
    a.services.jobStore.create({
      id,
      vm: 'v1',
      mode: 'live-shared',
      role: 'source',
      peer: 'b',
      phase: 'begin',
      options,
    });
    a.services.jobStore.advance(
      id,
      'confirm',
      'the target runs the VM; the source is retired in the background',
    );
    a.services.jobStore.end(id, 'completed', {
      result: 'completed',
      totalMs: 1,
      encrypted: false,
      options,
      notes: [],
    });
    a.services.jobStore.journal(
      id,
      'retiring the source (quit QEMU, undefine unless --keep-source) after the commit',
    );
    a.services.vmStore.update('v1', { owner: 'moved:b' });
    expectApiError(
      await a.api('POST', '/v1/vms/v1/resume', {}),
      409,
      'VMHOP_ERR_VM_STATE',
      /moved to host `b`.*run it twice/,
    );
    expect(a.services.vmStore.get('v1')?.state).toBe('paused');
    await a.restart();
    expect(a.services.vmStore.get('v1')).toBeUndefined();
    expect(isAlive(pid)).toBe(false);
    expect(entries(a, id).slice(-2)).toEqual([
      'the agent restarted before the source was retired: retiring it now',
      'source retired after the restart',
    ]);
  });

  it('leaves alone a VM marked moved whose retirement had ended (started again here with --force)', async () => {
    const { a } = await agentPair(agents, { paused: true });
    const id = randomUUID();
    const options = MigrationOptions.parse({ insecure: true });
    a.services.jobStore.create({
      id,
      vm: 'v1',
      mode: 'live-shared',
      role: 'source',
      peer: 'b',
      phase: 'begin',
      options,
    });
    a.services.jobStore.end(id, 'completed', {
      result: 'completed',
      totalMs: 1,
      encrypted: false,
      options,
      notes: [],
    });
    a.services.jobStore.journal(
      id,
      'retiring the source (quit QEMU, undefine unless --keep-source) after the commit',
    );
    a.services.jobStore.journal(id, 'source retired (kept, marked moved)');
    a.services.vmStore.update('v1', { owner: 'moved:b' });
    await a.restart();
    expect(a.services.vmStore.get('v1')?.state).toBe('paused');
    expect(a.qemuPids()).toHaveLength(1);
  });
});
