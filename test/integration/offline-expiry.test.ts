// Interrupted offline copies on the target expire: after the TTL their partial files go
// and the job is cancelled; a younger one is kept for its resume.
import { existsSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationOptions } from '../../src/protocol/migration.js';
import { TestAgent } from './helpers/test-agent.js';

let agent: TestAgent;
beforeEach(async () => {
  agent = await TestAgent.start();
});
afterEach(async () => {
  await agent.close();
});

function interruptedCopy(partial: string) {
  const jobs = agent.services.jobStore;
  const id = randomUUID();
  jobs.create({
    id,
    vm: 'v1',
    mode: 'offline',
    role: 'target',
    peer: 'a',
    phase: 'perform',
    options: MigrationOptions.parse({}),
  });
  writeFileSync(partial, 'partial data');
  jobs.addArtifact(id, 'volume', partial);
  jobs.end(id, 'interrupted');
  return id;
}

describe('expiry of interrupted offline copies', () => {
  it('removes the partial files of a copy older than the TTL and cancels its job', async () => {
    const partial = `${agent.dataDir}/pools/default/.vmhop-partial-x`;
    const id = interruptedCopy(partial);
    const expired = await agent.services.engine.target.offline.expireInterrupted(
      3_600_000,
      Date.now() + 2 * 3_600_000,
    );
    expect(expired).toEqual([id]);
    expect(existsSync(partial)).toBe(false);
    expect(agent.services.jobStore.get(id).state).toBe('cancelled');
  });

  it('keeps a copy younger than the TTL for its resume', async () => {
    const partial = `${agent.dataDir}/pools/default/.vmhop-partial-y`;
    const id = interruptedCopy(partial);
    expect(await agent.services.engine.target.offline.expireInterrupted(3_600_000)).toEqual([]);
    expect(existsSync(partial)).toBe(true);
    expect(agent.services.jobStore.get(id).state).toBe('interrupted');
  });
});
