// Which queued moves of a drain start now: in plan order (priority, then the smallest moves),
// as long as the limits allow, the moves under way included. The drained host's link carries
// every move, so at most `maxPerLink` run at once; each target takes at most `maxPerHost`.
// A move that does not fit its target lets a later one to another target start (backfill), as
// the planner's schedule (fleet/schedule.ts) assumed. And each live move's share of the link's
// budget. Pure.
import type { DrainLimits, DrainVm } from '../../protocol/drain.js';

export function movesToStart(
  vms: DrainVm[],
  limits: Pick<DrainLimits, 'maxPerHost' | 'maxPerLink'>,
): DrainVm[] {
  const active = vms.filter((v) => v.state === 'moving');
  const perTarget = new Map<string, number>();
  for (const v of active) perTarget.set(v.to, (perTarget.get(v.to) ?? 0) + 1);
  let running = active.length;
  const start: DrainVm[] = [];
  for (const v of [...vms].sort((a, b) => a.order - b.order)) {
    if (running >= limits.maxPerLink) break;
    if (v.state !== 'queued' || (perTarget.get(v.to) ?? 0) >= limits.maxPerHost) continue;
    start.push(v);
    running++;
    perTarget.set(v.to, (perTarget.get(v.to) ?? 0) + 1);
  }
  return start;
}

const MiB = 1024 * 1024;

/**
 * The RAM stream cap of each live move (MiB/s, as `migrate --bandwidth`) under the drain's link
 * budget: the budget split evenly among as many moves as may share the link at once, so the moves
 * together never exceed it. A static split: a move does not speed up when another ends. Offline
 * moves (streamed by the agents) and a live copy's disk mirrors are not capped.
 */
export function bandwidthShareMiBs(
  limits: Pick<DrainLimits, 'maxPerLink' | 'linkBudgetBitsPerSecond'>,
  moves: number,
): number | undefined {
  if (!limits.linkBudgetBitsPerSecond) return undefined;
  const sharing = Math.max(1, Math.min(limits.maxPerLink, moves));
  return Math.round((limits.linkBudgetBitsPerSecond / 8 / MiB / sharing) * 100) / 100;
}
