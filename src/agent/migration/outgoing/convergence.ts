// Source: whether a pre-copy converges, judged at each RAM pass (QEMU's dirty-sync-count) from
// query-migrate: the RAM left at the start of each pass, the guest's dirty rate against what
// the link sent during the pass, and the policy's duration. Pure: the watcher feeds it samples
// and acts on its verdict (post-copy, throttle or an end with the source running).
import type { MigrationInfo } from '../../../qmp/index.js';

export interface PassStart {
  pass: number;
  atMs: number;
  remainingBytes: number;
  transferredBytes: number;
  /** QEMU's dirty-pages-rate in bytes/s (0 before the first sync). */
  dirtyRateBps: number;
}

export interface Verdict {
  /** Why the pre-copy is not expected to finish, with the figures. */
  reason: string;
  figures: Record<string, number>;
}

export interface JudgeLimits {
  /** Passes whose start figures are compared: not shrinking over this many is stuck. */
  passes: number;
  /** The copy may take this long (the policy's duration or --timeout), ms; the judge speaks at 80%. */
  maxDurationMs?: number;
}

const MiB = 1024 * 1024;
const mib = (b: number) => (b / MiB).toFixed(1);

export class ConvergenceJudge {
  private readonly starts: PassStart[] = [];
  private readonly t0: number;

  constructor(
    private readonly limits: JudgeLimits,
    startedAt: number,
  ) {
    this.t0 = startedAt;
  }

  /** The pass starts seen so far (for the report). */
  get passes(): readonly PassStart[] {
    return this.starts;
  }

  /** Takes one query-migrate sample; returns a verdict once the copy is judged not to finish. */
  observe(info: MigrationInfo, at: number): Verdict | undefined {
    const ram = info.ram;
    if (!ram || info.status !== 'active') return undefined;
    const pass = ram['dirty-sync-count'] ?? 0;
    if (pass !== this.starts.at(-1)?.pass) {
      this.starts.push({
        pass,
        atMs: at,
        remainingBytes: ram.remaining,
        transferredBytes: ram.transferred,
        dirtyRateBps: (ram['dirty-pages-rate'] ?? 0) * (ram['page-size'] ?? 4096),
      });
      const verdict = this.judgePasses();
      if (verdict) return verdict;
    }
    return this.judgeDuration(at);
  }

  /** Only passes after the first full one count: the first carries all of RAM. */
  private judgePasses(): Verdict | undefined {
    const later = this.starts.filter((s) => s.pass >= 2);
    const n = this.limits.passes;
    if (later.length >= n) {
      const window = later.slice(-n);
      const first = window[0]!;
      const last = window.at(-1)!;
      if (last.remainingBytes >= 0.9 * first.remainingBytes)
        return {
          reason: `the RAM left to send did not shrink over ${n} passes (${window.map((s) => mib(s.remainingBytes)).join(' -> ')} MiB at passes ${first.pass}-${last.pass})`,
          figures: { remainingBytes: last.remainingBytes, pass: last.pass },
        };
    }
    // Two passes in a row in which the guest dirtied faster than the link sent, and the RAM left
    // did not shrink: a short pass on an idle link can show a low rate while the copy converges.
    const rates = this.passRates().slice(-2);
    const [before, now] = later.slice(-2);
    const shrinking = !before || !now || now.remainingBytes < 0.9 * before.remainingBytes;
    if (!shrinking && rates.length === 2 && rates.every((r) => r.dirtyBps > 0 && r.dirtyBps >= r.sentBps)) {
      const r = rates[1]!;
      return {
        reason: `the guest dirties memory faster than the link sends it (${mib(r.dirtyBps)} MiB/s dirtied, ${mib(r.sentBps)} MiB/s sent in pass ${r.pass})`,
        figures: { dirtyRateBps: Math.round(r.dirtyBps), sentRateBps: Math.round(r.sentBps), pass: r.pass },
      };
    }
    return undefined;
  }

  /** For each finished pass after the first: the link's rate over it, and QEMU's dirty rate at its end. */
  private passRates(): { pass: number; sentBps: number; dirtyBps: number }[] {
    const out: { pass: number; sentBps: number; dirtyBps: number }[] = [];
    for (let i = 1; i < this.starts.length; i++) {
      const a = this.starts[i - 1]!;
      const b = this.starts[i]!;
      if (a.pass < 2 || b.atMs <= a.atMs) continue;
      const sentBps = ((b.transferredBytes - a.transferredBytes) * 1000) / (b.atMs - a.atMs);
      out.push({ pass: a.pass, sentBps, dirtyBps: b.dirtyRateBps });
    }
    return out;
  }

  private judgeDuration(at: number): Verdict | undefined {
    const max = this.limits.maxDurationMs;
    if (max === undefined || at - this.t0 < 0.8 * max) return undefined;
    return {
      reason: `${Math.round((at - this.t0) / 1000)} s of the ${Math.round(max / 1000)} s the copy may take are gone and it has not converged`,
      figures: { elapsedMs: at - this.t0, maxDurationMs: max },
    };
  }
}
