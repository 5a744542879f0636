import { describe, expect, it } from 'vitest';
import { MigrationOptions, type JobReport } from '../../protocol/migration.js';
import type { Prediction, PredictionInputs } from '../../protocol/prediction.js';
import { humanPreflight } from './job.js';
import { humanPrediction, predictedVsActual } from './prediction.js';

const MiB = 1024 * 1024;
const inputs: PredictionInputs = {
  ramBytes: 256 * MiB,
  nonZeroBytes: 70 * MiB,
  nonZeroSource: 'sampled',
  dirtyRateBps: 24 * MiB,
  dirtyRateSource: 'measured',
  workingSetBytes: 64 * MiB,
  linkBps: 12.5e6,
  linkSource: 'measured',
  maxDowntimeMs: 300,
  switchoverMs: 60,
  compressionRatio: 0.4,
};
/** As the agent's model predicts it for these inputs (a fixture: the CLI does not import the agent). */
const prediction: Prediction = {
  at: 0,
  measuredMs: 6200,
  inputs,
  lowerBoundS: 5.9,
  ways: [
    {
      way: 'precopy',
      converges: false,
      totalS: null,
      bytes: 7.0 * 1024 * MiB,
      pauseMs: null,
      passes: 3,
      reason: 'never converges: the guest dirties 24.0 MiB/s',
    },
    {
      way: 'precopy-compressed',
      converges: true,
      totalS: 11.1,
      bytes: 132 * MiB,
      pauseMs: 335,
      passes: 10,
      reason: 'converges after 10 pass(es)',
    },
    {
      way: 'precopy-throttled',
      converges: true,
      totalS: 71.7,
      bytes: 854.5 * MiB,
      pauseMs: 269,
      passes: 16,
      reason: 'converges after 16 pass(es), guest slowed by 80%',
    },
    {
      way: 'postcopy-after-precopy',
      converges: true,
      totalS: 11.4,
      bytes: 134.7 * MiB,
      pauseMs: 60,
      passes: 1,
      reason: 'one pass, then the guest runs on the target and pulls 64.0 MiB it lacks',
    },
  ],
  configured: 'postcopy-after-precopy',
  notes: [],
};

describe('humanPrediction', () => {
  it('prints the inputs, one row per way and marks the way the options lead to', () => {
    const text = humanPrediction(prediction);
    expect(text).toMatch(/^Prediction \(measured in 6\.2 s\):/);
    expect(text).toContain('guest dirties 24.0 MiB/s, working set 64.0 MiB');
    expect(text).toContain('link 11.9 MiB/s (measured)');
    expect(text).toMatch(/^ {3}precopy +no +- +- +.*never converges/m);
    expect(text).toMatch(/^ {3}way +converges +total +pause +on the wire +why$/m);
    expect(text).toMatch(/^ \* postcopy-after-precopy +yes +11\.4 s +60 ms +134\.7 MiB +one pass/m);
    expect(text).toContain("the way this migration's options lead to: postcopy-after-precopy");
  });

  it('follows the pre-flight checks in the dry run', () => {
    const text = humanPreflight([{ name: 'memory', ok: true, detail: '256 MiB needed' }], prediction);
    expect(text.split('\n').slice(0, 4)).toEqual([
      'ok    memory           256 MiB needed',
      '',
      'pre-flight passed',
      '',
    ]);
  });
});

describe('predictedVsActual', () => {
  it("puts the configured way's figures beside the outcome", () => {
    const report = {
      result: 'completed',
      totalMs: 17_400,
      downtimeMs: 73,
      ramBytes: 150 * MiB,
      encrypted: true,
      options: MigrationOptions.parse({}),
      notes: [],
      prediction,
    } as JobReport;
    const [predicted, actual] = predictedVsActual(report);
    expect(predicted?.[1]).toMatch(
      /^postcopy-after-precopy: total \d+\.\d s, pause 60 ms, [\d.]+ MiB on the wire$/,
    );
    expect(actual).toEqual(['Actual', 'total 17.4 s, pause 73 ms, 150.0 MiB RAM sent']);
    expect(predictedVsActual({ ...report, prediction: undefined })).toEqual([]);
  });
});
