// F4 of issue 13: the source QEMU killed during the RAM copy is a crash of the VM, not a failed
// migration with QEMU's socket error: the report says so and how to start it again, the target
// cleans up, and the VM starts again from the source's disks. Two agents in one process over
// a direct peer link, real QEMU on both sides, the copy slowed to 1 MiB/s so the kill lands in it.
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

describe.skipIf(!guest)('the source QEMU dies during the RAM copy', () => {
  it('is reported as a crash of the VM with the command to start it, and the target keeps nothing', async () => {
    const { a, b } = await agentPair(agents);
    const res = await a.api('POST', '/v1/migrations', {
      vm: 'v1',
      to: 'b',
      mode: 'live-shared',
      options: { insecure: true, bandwidthMiBs: 1 },
    });
    expect(res.status, res.text).toBe(202);
    const id = res.body.job.id as string;
    for (let i = 0; i < 100 && a.services.jobStore.get(id).phase !== 'perform'; i++) await sleep(50);
    await sleep(1_000);
    const pid = a.services.vmStore.get('v1')!.pid!;
    process.kill(pid, 'SIGKILL');
    const job = await a.services.engine.wait(id);
    expect(job.state).toBe('failed');
    expect(job.report?.error).toMatchObject({ code: 'VMHOP_ERR_VM_CRASHED' });
    expect(job.report?.error?.message).toMatch(
      /^the source QEMU of `v1` exited during the migration \(the VM crashed\); nothing was committed on `b`.*`vmhop start v1`/,
    );
    expect(b.services.vmStore.get('v1')).toBeUndefined();
    expect(b.services.jobStore.get(id).state).not.toBe('running');
    const started = await a.api('POST', '/v1/vms/v1/start', {});
    expect(started.status, started.text).toBe(200);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
