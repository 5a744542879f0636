// F29 of issue 13: the target already has a volume of the name a migration would create. It is
// never overwritten: the live copy and the offline move are refused before the source is
// touched, naming the file and the fix, and the target's volume keeps its content. Two agents
// in one process over a direct peer link, real QEMU and real qcow2 files.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { agentPair } from './helpers/agent-pair.js';
import type { TestAgent } from './helpers/test-agent.js';
import { testGuest } from './helpers/vm-specs.js';

const guest = testGuest();
let agents: TestAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((x) => x.close()));
  agents = [];
});

const digest = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Two agents, `v1` with disk `v1-vda.qcow2` on a, and b holding another file of that name. */
async function clash() {
  const { a, b } = await agentPair(agents, { disk: true });
  await b.createVolume('v1-vda.qcow2', 32 * 1024 * 1024);
  const theirs = join(b.defaultPoolDir, 'v1-vda.qcow2');
  return { a, b, theirs, before: digest(theirs) };
}

describe.skipIf(!guest)('a volume of the same name on the target', () => {
  it('is never overwritten by a live copy: the pre-flight refuses it, naming the volume and the fix', async () => {
    const { a, b, theirs, before } = await clash();
    const res = await a.api('POST', '/v1/migrations', {
      vm: 'v1',
      to: 'b',
      mode: 'live-shared',
      options: { insecure: true, copyStorage: 'all' },
    });
    expect(res.status, res.text).toBe(422);
    expect(res.body.error.message).toMatch(
      /disk-vda: volume `default\/v1-vda.qcow2` already exists on `b` \(fix: delete it there .*or pass --target-pool\)/,
    );
    expect(digest(theirs)).toBe(before);
    expect(b.services.vmStore.get('v1')).toBeUndefined();
    expect(a.services.vmStore.get('v1')?.state).toBe('running');
  });

  it('is never overwritten by an offline move: the target refuses the prepare, nothing is copied', async () => {
    const { a, b, theirs, before } = await clash();
    expect((await a.api('POST', '/v1/vms/v1/destroy', {})).status).toBe(200);
    const res = await a.api('POST', '/v1/migrations', { vm: 'v1', to: 'b', mode: 'offline', options: {} });
    expect(res.status, res.text).toBe(202);
    const job = await a.services.engine.wait(res.body.job.id as string);
    expect(job.state).toBe('failed');
    expect(job.report?.error?.message).toMatch(/v1-vda\.qcow2` already exists on `b`.*delete it there/);
    expect(digest(theirs)).toBe(before);
    expect(b.services.vmStore.get('v1')).toBeUndefined();
    expect(a.services.vmStore.get('v1')?.state).toBe('shutoff');
  });
});
