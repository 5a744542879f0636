// The pre-flight's policy check on the prediction model's figures: a guest rewriting 8 MiB at
// 8 MiB/s over a 4 MiB/s link never converges in pre-copy, so strict (pre-copy only) is refused
// with every way's predicted figures, while finish (post-copy allowed) passes naming the way.
import { describe, expect, it } from 'vitest';
import { MigrationOptions } from '../../protocol/migration.js';
import type { Prediction, PredictionInputs } from '../../protocol/prediction.js';
import { applyPolicy } from './policy.js';
import { policyCheck } from './policy-check.js';
import { lowerBoundS, predictWays } from './predict/model.js';

const MiB = 1024 * 1024;

function predicted(dirtyMiBs: number): Prediction {
  const inputs: PredictionInputs = {
    ramBytes: 256 * MiB,
    nonZeroBytes: 40 * MiB,
    nonZeroSource: 'measured',
    dirtyRateBps: dirtyMiBs * MiB,
    dirtyRateSource: 'measured',
    workingSetBytes: 8 * MiB,
    linkBps: 4 * MiB,
    linkSource: 'bandwidth-cap',
    maxDowntimeMs: 300,
    switchoverMs: 60,
    compressionRatio: 0.5,
  };
  const ways = predictWays(inputs);
  return {
    at: 0,
    measuredMs: 0,
    inputs,
    lowerBoundS: lowerBoundS(inputs),
    ways,
    configured: 'precopy',
    notes: [],
  };
}

const options = (policy: string) => applyPolicy(MigrationOptions.parse({ policy }), 'live-shared', 'finish');

describe('policyCheck', () => {
  it('fails strict for a guest whose pre-copy never converges, with every way predicted', () => {
    const [check] = policyCheck(options('strict'), predicted(8));
    expect(check).toMatchObject({ name: 'policy', ok: false });
    expect(check?.detail).toMatch(
      /^policy strict allows precopy, and none is predicted to finish: precopy: never converges/,
    );
    expect(check?.detail).toMatch(/postcopy-after-precopy: \d+\.\d s, pause 60 ms \(not allowed\)/);
    expect(check?.fix).toMatch(/--policy finish/);
  });

  it('passes finish for the same guest, by post-copy', () => {
    const [check] = policyCheck(options('finish'), predicted(8));
    expect(check).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^policy finish: postcopy-after-precopy is predicted to finish/),
    });
  });

  it('passes strict for a guest that dirties slower than the link', () => {
    expect(policyCheck(options('strict'), predicted(0.5))[0]?.ok).toBe(true);
  });

  it('judges nothing without a prediction, or under manual', () => {
    expect(policyCheck(options('strict'), undefined)).toEqual([]);
    expect(policyCheck(options('manual'), predicted(8))).toEqual([]);
  });
});
