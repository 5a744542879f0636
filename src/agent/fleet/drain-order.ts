// Which queued moves of a drain start now: in plan order (priority, then the smallest moves),
// as long as the limits allow, the moves under way included. The drained host's link carries
// every move, so at most `maxPerLink` run at once; each target takes at most `maxPerHost`.
// A move that does not fit its target lets a later one to another target start (backfill), as
// the planner's schedule (fleet/schedule.ts) assumed. Pure.
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
