// The live migration display on stderr: one line per refresh (phase, stage and pass, a bar of
// the RAM already on the target, rates, and the ETA with its reason), plus one bar per disk while
// disks are mirrored. Pure text, no colours and no cursor control (the caller writes `\r`).
// It only formats a Progress; what the numbers mean is decided in agent/migration/progress.ts.

import type { Progress } from '../../protocol/migration.js';

const KiB = 1024;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;
const SEP = '  ';
const BAR_MIN = 10;
const BAR_MAX = 24;

/**
 * One line, at most `width` columns. The numbers always show; the bar takes 10 to 24 columns
 * when there is room for 10; the ETA reason gets the rest and is cut with an ellipsis.
 */
export function renderProgress(p: Progress, width = 80): string {
  const head = `${p.phase} ${p.stage}${p.pass > 0 && p.stage === 'ram' ? ` pass ${p.pass}` : ''}`;
  const { done, total } = amounts(p);
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const numbers = [
    ...(total > 0 ? [`${Math.floor(fraction * 100)}%`, pair(done, total)] : []),
    ...(p.rateBps > 0 ? [rate(p.rateBps)] : []),
    ...(p.dirtyRateBps > 0 ? [`dirty ${rate(p.dirtyRateBps)}`] : []),
    `ETA ${p.etaS === null ? '--' : duration(p.etaS)}`,
  ].join(SEP);
  const reason = ` (${p.etaReason})`;
  const room = width - head.length - numbers.length - reason.length - 2 * SEP.length - 2;
  const barWidth = Math.min(BAR_MAX, Math.max(BAR_MIN, room));
  const fixed = head.length + numbers.length + 2 * SEP.length + 2;
  const withBar = total > 0 && fixed + barWidth <= width;
  return fit([head, ...(withBar ? [bar(fraction, barWidth)] : []), numbers + reason].join(SEP), width);
}

/** One line per disk being mirrored (empty when there are none): name, bar, percent, amounts. */
export function renderDisks(p: Progress, width = 80): string {
  const nameWidth = Math.max(0, ...p.disks.map((d) => d.target.length));
  return p.disks
    .map((d) => {
      const fraction = d.totalBytes > 0 ? Math.min(1, d.doneBytes / d.totalBytes) : 0;
      const tail = `${`${Math.floor(fraction * 100)}%`.padStart(4)}${SEP}${pair(d.doneBytes, d.totalBytes)}`;
      const barWidth = Math.min(BAR_MAX * 2, width - 2 - nameWidth - tail.length - 2 * SEP.length - 2);
      const parts = [
        `  ${d.target.padEnd(nameWidth)}`,
        ...(barWidth >= BAR_MIN ? [bar(fraction, barWidth)] : []),
        tail,
      ];
      return fit(parts.join(SEP), width);
    })
    .join('\n');
}

/** What the bar shows: disks while they are mirrored; otherwise RAM already on the target and clean. */
function amounts(p: Progress): { done: number; total: number } {
  if (p.stage === 'disks') {
    return p.disks.reduce((a, d) => ({ done: a.done + d.doneBytes, total: a.total + d.totalBytes }), {
      done: 0,
      total: 0,
    });
  }
  return { done: p.ramTotalBytes - p.ramRemainingBytes, total: p.ramTotalBytes };
}

export function bar(fraction: number, width: number): string {
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function fit(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}

/** "412/676 MiB": both in the unit and precision of the total, so they compare at a glance. */
export function pair(done: number, total: number): string {
  const unit = unitOf(total);
  const scaled = total / KiB ** unit;
  const digits = scaled >= 100 ? 0 : 1;
  return `${(done / KiB ** unit).toFixed(digits)}/${scaled.toFixed(digits)} ${UNITS[unit]}`;
}

export function rate(bps: number): string {
  const unit = Math.max(2, unitOf(bps));
  return `${number(bps / KiB ** unit)} ${UNITS[unit]}/s`;
}

function unitOf(bytes: number): number {
  let unit = 0;
  while (bytes >= KiB ** (unit + 1) && unit < UNITS.length - 1) unit++;
  return unit;
}

const number = (v: number): string =>
  v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);

/** 9s, 3m05s, 1h02m: short enough to keep the line steady as it counts down. */
export function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
