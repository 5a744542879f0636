// When each planned move runs: an event simulation of the drain under its limits. A move holds a
// slot on its source's and its target's link (maxPerLink) and on its target (maxPerHost) from its
// start to its end; during its set-up it sends nothing; then it sends its bytes at an equal share
// of each link's budget among the moves transferring on it, at the slower of its two links.
// Moves start in plan order; one that does not fit now lets later ones start (backfill).

export interface ScheduledMove {
  from: string;
  to: string;
  bytes: number;
  setupSeconds: number;
}

export interface ScheduleLimits {
  maxPerHost: number;
  maxPerLink: number;
  /** Payload bytes per second of each host's link for migrations. */
  linkBytesPerSecond: (host: string) => number;
}

export interface Slot {
  startSeconds: number;
  endSeconds: number;
}

export interface Schedule {
  slots: Slot[];
  totalSeconds: number;
  maxConcurrent: number;
}

interface Active {
  index: number;
  setupLeft: number;
  bytesLeft: number;
}

export function schedule(moves: ScheduledMove[], limits: ScheduleLimits): Schedule {
  const slots: Slot[] = moves.map(() => ({ startSeconds: 0, endSeconds: 0 }));
  const pending = moves.map((_, i) => i);
  let active: Active[] = [];
  let now = 0;
  let maxConcurrent = 0;
  const count = (pred: (m: ScheduledMove) => boolean) => active.filter((a) => pred(moves[a.index]!)).length;
  const onLink = (host: string) => count((m) => m.from === host || m.to === host);
  // Each iteration ends at least one set-up or transfer, so 2 per move bound the loop.
  for (let guard = 0; (pending.length || active.length) && guard <= 2 * moves.length + 2; guard++) {
    for (let p = 0; p < pending.length;) {
      const i = pending[p]!;
      const m = moves[i]!;
      const fits =
        count((o) => o.to === m.to) < limits.maxPerHost &&
        onLink(m.from) < limits.maxPerLink &&
        onLink(m.to) < limits.maxPerLink;
      if (!fits) {
        p++;
        continue;
      }
      pending.splice(p, 1);
      slots[i]!.startSeconds = now;
      active.push({ index: i, setupLeft: m.setupSeconds, bytesLeft: m.bytes });
    }
    maxConcurrent = Math.max(maxConcurrent, active.length);
    if (!active.length) break;
    const rates = transferRates(moves, active, limits.linkBytesPerSecond);
    const dt = Math.min(...active.map((a, k) => (a.setupLeft > 0 ? a.setupLeft : a.bytesLeft / rates[k]!)));
    now += dt;
    const still: Active[] = [];
    active.forEach((a, k) => {
      if (a.setupLeft > 0) a.setupLeft = a.setupLeft - dt <= 1e-9 ? 0 : a.setupLeft - dt;
      else a.bytesLeft = Math.max(0, a.bytesLeft - dt * rates[k]!);
      // A transfer within a byte of its end is done: floating point would leave crumbs.
      if (a.setupLeft === 0 && a.bytesLeft < 1) slots[a.index]!.endSeconds = now;
      else still.push(a);
    });
    active = still;
  }
  return { slots, totalSeconds: now, maxConcurrent };
}

/** Each transferring move's rate: its equal share of each link's budget, the smaller of the two. */
function transferRates(
  moves: ScheduledMove[],
  active: Active[],
  linkRate: (host: string) => number,
): number[] {
  const sending = new Map<string, number>();
  for (const a of active) {
    if (a.setupLeft > 0) continue;
    const m = moves[a.index]!;
    for (const h of new Set([m.from, m.to])) sending.set(h, (sending.get(h) ?? 0) + 1);
  }
  return active.map((a) => {
    const m = moves[a.index]!;
    return Math.min(linkRate(m.from) / (sending.get(m.from) ?? 1), linkRate(m.to) / (sending.get(m.to) ?? 1));
  });
}
