// Human text for a migration job, its report and a pre-flight result.
import type { JobInfo, PreflightCheck } from '../../protocol/migration.js';
import type { Prediction } from '../../protocol/prediction.js';
import { humanPrediction, predictedVsActual } from './prediction.js';
import { formatSize } from './sizes.js';

const ms = (v: number | undefined) =>
  v === undefined ? '-' : v < 10_000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(1)} s`;

export function humanPreflight(checks: PreflightCheck[], prediction?: Prediction): string {
  const lines = checks.map(
    (c) =>
      `${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(16)} ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}`,
  );
  const failed = checks.filter((c) => !c.ok).length;
  return [
    ...lines,
    '',
    failed ? `${failed} check(s) failed: nothing would move` : 'pre-flight passed',
    ...(prediction ? ['', humanPrediction(prediction)] : []),
  ].join('\n');
}

export function humanJob(j: JobInfo): string {
  const r = j.report;
  const lines = [
    ['Job', j.id],
    ['VM', j.vm],
    ['Mode', `${j.mode} (${j.role} side, peer ${j.peer})`],
    ['State', `${j.state} (phase ${j.phase})`],
  ];
  if (r) {
    lines.push(
      ['Total time', ms(r.totalMs)],
      ['Setup', ms(r.setupMs)],
      [
        'Downtime',
        `${ms(r.downtimeMs)} measured by vmhop${r.qemuDowntimeMs !== undefined ? `, ${ms(r.qemuDowntimeMs)} by QEMU` : ''}`,
      ],
      ['RAM sent', r.ramBytes !== undefined ? formatSize(r.ramBytes) : '-'],
      ['Passes', String(r.passes ?? '-')],
      ...predictedVsActual(r),
      ...(r.postcopy
        ? [
            [
              'Post-copy',
              `after ${ms(r.postcopy.afterMs)} (${r.postcopy.reason}); ${r.postcopyPageRequests ?? 0} page requests, ${r.postcopy.recoveries} recoveries`,
            ],
          ]
        : []),
      ['Encrypted', r.encrypted ? 'yes (TLS)' : 'NO (--insecure)'],
      ...Object.entries(r.diskBytes ?? {}).map(([d, b]) => [`Disk ${d}`, formatSize(b)]),
      ...(r.error ? [['Error', `${r.error.message} [${r.error.code}]`]] : []),
      ...(r.warnings ?? []).map((w) => ['WARNING', w]),
      ...r.notes.map((n) => ['Note', n]),
    );
  }
  return lines.map(([k, v]) => `${(k + ':').padEnd(12)}${v}`).join('\n');
}
