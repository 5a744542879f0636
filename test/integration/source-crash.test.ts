// F4 of issue 13: the source QEMU killed during the RAM copy is a crash of the VM, not a failed
// migration with QEMU's socket error: the report says so and how to start it again, the target
// cleans up, and the VM starts again from the source's disks. Two agents in one process over
// a direct peer link, real QEMU on both sides, the copy slowed to 1 MiB/s so the kill lands in it.
import { afterEach, describe, expect, it } from 'vitest';
import { DirectPeerLink } from './helpers/direct-peer-link.js';
import { TestAgent } from './helpers/test-agent.js';
import { kernelVm, testGuest } from './helpers/vm-specs.js';

const guest = testGuest();
let agents: TestAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((x) => x.close()));
  agents = [];
});

describe.skipIf(!guest)('the source QEMU dies during the RAM copy', () => {
  it('is reported as a crash of the VM with the command to start it, and the target keeps nothing', async () => {
    const a = await TestAgent.start({ name: 'a' });
    const b = await TestAgent.start({ name: 'b' });
    agents.push(a, b);
    a.services.attachPeer(new DirectPeerLink('b', b.services));
    const spec = kernelVm('v1', {
      memoryMiB: 64,
      machine: 'pc',
      boot: { kind: 'kernel', kernel: guest!.kernel, initrd: guest!.initrd, cmdline: 'console=ttyS0 quiet' },
    });
    expect((await a.api('POST', '/v1/vms', { spec })).status).toBe(201);
    expect((await a.api('POST', '/v1/vms/v1/start', {})).status).toBe(200);
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
