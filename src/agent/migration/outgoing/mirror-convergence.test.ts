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
  /** Each 250 ms: `left` MiB left, the mirror copied `copyMiBs` and the guest wrote `writeMiBs` per second. */
  function play(
    j: MirrorJudge,
    untilMs: number,
    left: (t: number) => number,
    copyMiBs: number,
    writeMiBs: number,
  ) {
    let why;
    for (let t = 0; t <= untilMs && !why; t += 250)
      why = j.observe({
        at: t,
        left: left(t) * MiB,
        copied: (copyMiBs * t * MiB) / 1000,
        written: (writeMiBs * t * MiB) / 1000,
      });
    return why;
  }

  it('says nothing while the bytes left shrink and the mirror copies more than the guest writes', () => {
    expect(play(new MirrorJudge(5_000), 20_000, (t) => 1000 - t / 100, 2, 0.5)).toBeUndefined();
  });

  it('leaves a copy whose guest writes nothing to the stall watchdog', () => {
    expect(play(new MirrorJudge(5_000), 20_000, () => 10, 0, 0)).toBeUndefined();
  });

  it('judges bytes left that grow while the guest writes not converging', () => {
    const why = play(new MirrorJudge(5_000), 10_000, (t) => 10 + t / 1000, 2, 4);
    expect(why).toMatch(/did not shrink in 5 s \(10\.0 -> 15\.0 MiB left\) while the guest wrote 20\.0 MiB/);
  });

  it("judges a mirror that only chases the guest's writes not converging, and judges afresh after a reset", () => {
    const j = new MirrorJudge(5_000);
    expect(play(j, 10_000, () => 0, 2, 2)).toMatch(
      /the guest wrote 10\.0 MiB and the mirror copied 10\.0 MiB without catching up/,
    );
    j.reset();
    expect(j.observe({ at: 10_250, left: 0, copied: 0, written: 0 })).toBeUndefined();
  });

  it('judges write-blocking mirrors by the bytes left alone', () => {
    const j = new MirrorJudge(5_000);
    let why;
    for (let t = 0; t <= 10_000 && !why; t += 250)
      why = j.observe({ at: t, left: (8 - t / 2000) * MiB, copied: 0, written: t * 1000 }, 'write-blocking');
    expect(why).toBeUndefined();
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
