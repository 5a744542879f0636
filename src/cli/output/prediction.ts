// Human text for a migration's prediction (protocol/prediction.ts): what was measured, one row per
// way of moving with the one the options lead to marked, and, for a finished job, the predicted
// figures beside what happened.
import type { JobReport } from '../../protocol/migration.js';
import type { FigureSource, Prediction, WayPrediction } from '../../protocol/prediction.js';
import { formatSize } from './sizes.js';

const MiB = 1024 * 1024;
const rate = (bps: number) => `${(bps / MiB).toFixed(1)} MiB/s`;
const secs = (s: number | null) => (s === null ? '-' : s < 100 ? `${s.toFixed(1)} s` : `${Math.round(s)} s`);
const msOf = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '-' : `${Math.round(ms)} ms`;
const SOURCE: Record<FigureSource, string> = {
  measured: 'measured',
  sampled: 'sampled',
  history: 'last migration to this host',
  'bandwidth-cap': '--bandwidth',
  assumed: 'assumed',
  unknown: 'unknown',
};

function wayRow(w: WayPrediction, chosen: boolean): string {
  return [
    chosen ? '*' : ' ',
    w.way.padEnd(24),
    (w.converges ? 'yes' : 'no').padEnd(10),
    secs(w.totalS).padEnd(9),
    msOf(w.pauseMs).padEnd(9),
    formatSize(w.bytes).padEnd(11),
    w.reason,
  ].join(' ');
}

export function humanPrediction(p: Prediction): string {
  const i = p.inputs;
  const ws = i.workingSetBytes !== undefined ? `, working set ${formatSize(i.workingSetBytes)}` : '';
  return [
    `Prediction (measured in ${secs(p.measuredMs / 1000)}):`,
    `  guest dirties ${rate(i.dirtyRateBps)}${ws}; non-zero RAM ${formatSize(i.nonZeroBytes)} of ${formatSize(i.ramBytes)} (${SOURCE[i.nonZeroSource]})`,
    `  link ${rate(i.linkBps)} (${SOURCE[i.linkSource]}); downtime limit ${i.maxDowntimeMs} ms; switchover ${i.switchoverMs} ms`,
    `  lower bound ${secs(p.lowerBoundS)} (non-zero RAM / link)`,
    `   ${'way'.padEnd(24)} ${'converges'.padEnd(10)} ${'total'.padEnd(9)} ${'pause'.padEnd(9)} ${'on the wire'.padEnd(11)} why`,
    ...p.ways.map((w) => ` ${wayRow(w, w.way === p.configured)}`),
    `  * the way this migration's options lead to: ${p.configured}`,
    ...p.notes.map((n) => `  note: ${n}`),
  ].join('\n');
}

/** Predicted against actual, for a finished job's report: [label, text] rows. */
export function predictedVsActual(r: JobReport): [string, string][] {
  const p = r.prediction;
  const w = p?.ways.find((x) => x.way === p.configured);
  if (!p || !w) return [];
  return [
    [
      'Predicted',
      `${w.way}: total ${secs(w.totalS)}, pause ${msOf(w.pauseMs)}, ${formatSize(w.bytes)} on the wire${w.converges ? '' : ' (never converges)'}`,
    ],
    [
      'Actual',
      `total ${secs(r.totalMs / 1000)}, pause ${msOf(r.downtimeMs)}, ${r.ramBytes !== undefined ? formatSize(r.ramBytes) : '-'} RAM sent`,
    ],
  ];
}
