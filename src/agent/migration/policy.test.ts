// Policies onto options: what each policy turns on per mode, the user's flags kept under the
// host's default, and a flag that contradicts a policy named in the same request refused with both.
import { describe, expect, it } from 'vitest';
import { isVmhopError } from '../../protocol/errors.js';
import { MigrationOptions } from '../../protocol/migration.js';
import { applyPolicy } from './policy.js';

const opts = (o: Record<string, unknown> = {}) => MigrationOptions.parse(o);
const pick = (o: MigrationOptions) => ({
  policy: o.policy,
  postcopy: o.postcopy,
  postcopyAfterPrecopy: o.postcopyAfterPrecopy,
  autoConverge: o.autoConverge,
  timeoutS: o.timeoutS,
});

function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isVmhopError(e) && e.code === 'VMHOP_ERR_MIGRATION_OPTIONS') return e.message;
    throw e;
  }
  throw new Error('not refused');
}

describe('applyPolicy', () => {
  it('default finish: post-copy enabled over shared storage, throttling where post-copy cannot run', () => {
    expect(pick(applyPolicy(opts(), 'live-shared', 'finish'))).toEqual({
      policy: 'finish',
      postcopy: true,
      postcopyAfterPrecopy: false,
      autoConverge: false,
      timeoutS: undefined,
    });
    expect(pick(applyPolicy(opts(), 'live-copy', 'finish'))).toMatchObject({
      postcopy: false,
      autoConverge: true,
    });
    expect(pick(applyPolicy(opts({ parallel: 2 }), 'live-shared', 'finish'))).toMatchObject({
      postcopy: false,
      autoConverge: true,
    });
  });

  it('postcopy switches after the first pass; throttle slows the guest for at most 600 s; strict does neither', () => {
    expect(pick(applyPolicy(opts({ policy: 'postcopy' }), 'live-shared', 'finish'))).toMatchObject({
      postcopy: true,
      postcopyAfterPrecopy: true,
    });
    expect(pick(applyPolicy(opts({ policy: 'throttle' }), 'live-shared', 'finish'))).toMatchObject({
      postcopy: false,
      autoConverge: true,
      timeoutS: 600,
    });
    expect(pick(applyPolicy(opts({ policy: 'strict' }), 'live-shared', 'finish'))).toMatchObject({
      postcopy: false,
      autoConverge: false,
    });
  });

  it("takes the host's default when the request names none, and leaves offline jobs alone", () => {
    expect(applyPolicy(opts(), 'live-shared', 'strict').policy).toBe('strict');
    expect(applyPolicy(opts(), 'offline', 'finish')).toEqual(opts());
  });

  it("keeps the user's flags: --timeout overrides the policy's duration, manual adds nothing", () => {
    expect(applyPolicy(opts({ policy: 'throttle', timeoutS: 30 }), 'live-shared', 'finish').timeoutS).toBe(
      30,
    );
    expect(pick(applyPolicy(opts({ autoConverge: true }), 'live-shared', 'strict'))).toMatchObject({
      autoConverge: true,
      policy: 'strict',
    });
    expect(pick(applyPolicy(opts({ policy: 'manual', postcopy: true }), 'live-shared', 'finish'))).toEqual({
      policy: 'manual',
      postcopy: true,
      postcopyAfterPrecopy: false,
      autoConverge: false,
      timeoutS: undefined,
    });
  });

  it('refuses a flag that contradicts the named policy, naming both', () => {
    expect(
      refusal(() => applyPolicy(opts({ policy: 'strict', postcopy: true }), 'live-shared', 'finish')),
    ).toMatch(/--policy strict never switches to post-copy but --postcopy asks for it/);
    expect(
      refusal(() => applyPolicy(opts({ policy: 'strict', autoConverge: true }), 'live-shared', 'finish')),
    ).toMatch(/--policy strict never slows the guest but --auto-converge asks for it/);
    expect(
      refusal(() =>
        applyPolicy(opts({ policy: 'throttle', timeoutAction: 'postcopy' }), 'live-shared', 'finish'),
      ),
    ).toMatch(/--policy throttle never switches to post-copy but --timeout-action postcopy/);
    expect(refusal(() => applyPolicy(opts({ policy: 'postcopy' }), 'live-copy', 'finish'))).toMatch(
      /--policy postcopy needs post-copy, which runs only for live migrations over shared storage/,
    );
  });
});
