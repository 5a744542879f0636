// What the policy does with the judge's verdict, without QEMU: the duration rule speaks at 80% of
// --timeout when it can still help post-copy finish, but not when the user timed the switch
// with --timeout-action postcopy; auto-converge is left to work until QEMU's throttle is at 99%.
import { describe, expect, it } from 'vitest';
import { MigrationOptions } from '../../../protocol/migration.js';
import type { MigrationInfo } from '../../../qmp/index.js';
import { PolicyActions } from './policy-actions.js';

const active = (pass: number, remaining: number, throttle = 0): MigrationInfo =>
  ({
    status: 'active',
    'cpu-throttle-percentage': throttle,
    ram: {
      transferred: pass,
      remaining,
      total: 1,
      'dirty-sync-count': pass,
      'dirty-pages-rate': 0,
      'page-size': 4096,
    },
  }) as MigrationInfo;

describe('PolicyActions', () => {
  it('switches at 80% of --timeout under finish, but leaves a --timeout-action postcopy to its own time', async () => {
    const abortAt = MigrationOptions.parse({ policy: 'finish', postcopy: true, timeoutS: 10 });
    const notes: string[] = [];
    expect(await new PolicyActions({ options: abortAt }, 0, notes).judge(active(1, 100), 8_000)).toMatch(
      /^policy finish: 8 s of the 10 s the copy may take are gone/,
    );
    const timed = MigrationOptions.parse({ ...abortAt, timeoutAction: 'postcopy' });
    expect(
      await new PolicyActions({ options: timed }, 0, notes).judge(active(1, 100), 9_000),
    ).toBeUndefined();
  });

  it('lets auto-converge work under throttle until the throttle is at its maximum, then ends', async () => {
    const options = MigrationOptions.parse({ policy: 'throttle', autoConverge: true });
    const notes: string[] = [];
    const p = new PolicyActions({ options }, 0, notes);
    for (const pass of [1, 2, 3]) expect(await p.judge(active(pass, 100, 50), pass * 1000)).toBeUndefined();
    expect(await p.judge(active(4, 100, 60), 4000)).toBeUndefined();
    expect(notes).toEqual([
      expect.stringMatching(/the guest is slowed by auto-converge \(policy throttle\), now 60%/),
    ]);
    await expect(p.judge(active(5, 100, 99), 5000)).rejects.toMatchObject({
      message: expect.stringMatching(
        /^policy throttle ended the migration with the source running: the pre-copy does not converge even with the guest slowed 99%/,
      ),
    });
  });
});
