// F23: disk mirrors that do not shrink over the window are judged not to converge; the policy
// switches background mirrors to write-blocking with block-job-change (QEMU 10's form, checked
// against its schema), or ends the copy naming the policy when it may not slow the guest or
// QEMU has no block-job-change (7.2). A fake QMP server stands in for the source QEMU.
import { afterEach, describe, expect, it } from 'vitest';
import { MigrationOptions } from '../../../protocol/migration.js';
import { FakeQmpHarness } from '../../../qmp/testing/fake-qmp-harness.js';
import { actOnMirrors, MirrorJudge } from './mirror-convergence.js';
import { mirrorJobs } from './mirror-jobs.js';

const h = new FakeQmpHarness();
afterEach(() => h.cleanup());
const MiB = 1024 * 1024;

describe('MirrorJudge', () => {
  it('says nothing while the bytes left shrink, even slowly', () => {
    const j = new MirrorJudge(5_000);
    for (let t = 0; t <= 20_000; t += 250) expect(j.observe((1000 - t / 100) * MiB, t)).toBeUndefined();
  });

  it('judges bytes left that grow over the window not converging, and judges afresh after a reset', () => {
    const j = new MirrorJudge(5_000);
    let why;
    for (let t = 0; t <= 5_000 && !why; t += 250) why = j.observe((10 + t / 1000) * MiB, t);
    expect(why).toMatch(/did not shrink in 5 s \(10\.0 -> 15\.0 MiB left\)/);
    j.reset();
    expect(j.observe(20 * MiB, 5_250)).toBeUndefined();
  });
});

describe('actOnMirrors', () => {
  const options = (policy: string) => MigrationOptions.parse({ policy });

  it('switches background mirrors to write-blocking under finish', async () => {
    const server = await h.server();
    server.expect({
      execute: 'block-job-change',
      arguments: { id: 'mirror-12345678-vda', type: 'mirror', 'copy-mode': 'write-blocking' },
      reply: { return: {} },
    });
    const m = mirrorJobs(await h.connect(server), '12345678-job', ['vda']);
    const note = await actOnMirrors(m, options('finish'), 'background', 'the disk copy did not shrink');
    expect(note).toMatch(/^switched the disk mirrors to write-blocking \(policy finish\)/);
    m.close();
    server.assertDone();
  });

  it('ends the copy under strict, and when QEMU cannot change a running mirror', async () => {
    const server = await h.server();
    server.expect({
      execute: 'block-job-change',
      arguments: { id: 'mirror-12345678-vda', type: 'mirror', 'copy-mode': 'write-blocking' },
      reply: { error: { class: 'CommandNotFound', desc: 'The command block-job-change has not been found' } },
    });
    const m = mirrorJobs(await h.connect(server), '12345678-job', ['vda']);
    await expect(actOnMirrors(m, options('strict'), 'background', 'why')).rejects.toMatchObject({
      code: 'VMHOP_ERR_MIGRATION_FAILED',
      message: expect.stringMatching(
        /^policy strict ended the migration with the source running: why; the policy does not slow/,
      ),
    });
    await expect(actOnMirrors(m, options('throttle'), 'background', 'why')).rejects.toMatchObject({
      details: {
        policy: 'throttle',
        reason: expect.stringMatching(/could not switch the mirrors to write-blocking/),
      },
    });
    expect(await actOnMirrors(m, options('manual'), 'background', 'why')).toBeUndefined();
    m.close();
    server.assertDone();
  });
});
