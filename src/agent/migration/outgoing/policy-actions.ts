// Source: what the job's policy does when the convergence judge says the pre-copy will not
// finish: switch to post-copy (when it was enabled before `migrate`), let QEMU's auto-converge
// slow the guest until its throttle is at the maximum, or end the copy (F22) with an error whose
// details carry the policy and the figures; the caller's rollback cancels the stream, resumes
// the source and drops the target's side. A policy that does not judge (manual) does nothing.
import { VmhopError } from '../../../protocol/errors.js';
import type { MigrationInfo } from '../../../qmp/index.js';
import { policyOf } from '../policy.js';
import { ConvergenceJudge, type Verdict } from './convergence.js';
import type { WatchOptions } from './watch-migration.js';

/** Passes after the first whose start figures must shrink (3: about three working-set copies). */
export const judgedPasses = 3;
/** QEMU's default max-cpu-throttle, %: past it auto-converge cannot slow the guest further. */
const maxThrottlePercent = 99;

export class PolicyActions {
  private readonly judgeOf: ConvergenceJudge | undefined;
  private throttleNoted = false;

  constructor(
    private readonly w: Pick<WatchOptions, 'options' | 'onPolicy' | 'prediction'>,
    startedAt: number,
    private readonly notes: string[],
  ) {
    const p = policyOf(w.options);
    const o = w.options;
    // Acting before the end of the duration only helps a switch to post-copy finish in time; an
    // abort at --timeout is the watcher's own, and so is the switch the user timed with
    // --timeout-action postcopy.
    const early =
      o.postcopy && o.timeoutS !== undefined && o.timeoutAction !== 'postcopy'
        ? { maxDurationMs: o.timeoutS * 1000 }
        : {};
    this.judgeOf = p?.judge ? new ConvergenceJudge({ passes: judgedPasses, ...early }, startedAt) : undefined;
  }

  /**
   * The reason to switch to post-copy now, or undefined to go on; throws when the policy ends
   * the copy. Called at every sample while the copy is in pre-copy.
   */
  async judge(info: MigrationInfo, now: number): Promise<string | undefined> {
    const predicted = this.predictedStuck(info);
    if (predicted) return predicted;
    const verdict = this.judgeOf?.observe(info, now);
    if (!verdict) return undefined;
    const policy = policyOf(this.w.options)!;
    if (this.w.options.postcopy && policy.postcopy !== 'never') {
      this.w.onPolicy?.(`switching to post-copy (policy ${policy.name}): ${verdict.reason}`);
      return `policy ${policy.name}: ${verdict.reason}`;
    }
    const throttle = info['cpu-throttle-percentage'] ?? 0;
    if (this.w.options.autoConverge && throttle < maxThrottlePercent) {
      if (!this.throttleNoted) {
        this.throttleNoted = true;
        const note = `the pre-copy does not converge (${verdict.reason}): the guest is slowed by auto-converge (policy ${policy.name}), now ${throttle}%`;
        this.notes.push(note);
        this.w.onPolicy?.(note);
      }
      return undefined;
    }
    throw this.ended(verdict, throttle);
  }

  /**
   * The way chosen up front: when the prediction says this pre-copy never converges and the
   * policy switches to post-copy when stuck, it switches once the first full pass is done
   * instead of waiting passes for the judge to see it.
   */
  private predictedStuck(info: MigrationInfo): string | undefined {
    const { options: o, prediction: p } = this.w;
    const policy = policyOf(o);
    if (!p || !o.postcopy || policy?.postcopy !== 'when-stuck' || !policy.judge) return undefined;
    if (info.status !== 'active' || (info.ram?.['dirty-sync-count'] ?? 0) < 2) return undefined;
    const precopy = p.ways.find(
      (w) =>
        w.way === (o.compressed ? 'precopy-compressed' : o.autoConverge ? 'precopy-throttled' : 'precopy'),
    );
    if (p.configured !== 'postcopy-after-precopy' || !precopy || precopy.converges) return undefined;
    const text = `the prediction says pre-copy does not finish (${precopy.reason}), so post-copy after the first full RAM pass`;
    this.w.onPolicy?.(`switching to post-copy (policy ${policy.name}): ${text}`);
    return `policy ${policy.name}: ${text}`;
  }

  private ended(v: Verdict, throttle: number): VmhopError {
    const o = this.w.options;
    const policy = policyOf(o)!;
    const slowed = o.autoConverge ? ` even with the guest slowed ${throttle}%` : '';
    return new VmhopError(
      'VMHOP_ERR_MIGRATION_FAILED',
      `policy ${policy.name} ended the migration with the source running: the pre-copy does not converge${slowed} (${v.reason}); ` +
        `the policy allows ${allowed(o)}: raise --bandwidth, lower the guest's writes, or migrate with --policy finish (post-copy) or --policy throttle`,
      {
        policy: policy.name,
        reason: v.reason,
        ...v.figures,
        passes: this.judgeOf!.passes.map((p) => ({ pass: p.pass, remainingBytes: p.remainingBytes })),
      },
    );
  }
}

function allowed(o: WatchOptions['options']): string {
  const ways = [
    'pre-copy',
    ...(o.autoConverge ? ['throttling (auto-converge)'] : []),
    ...(o.postcopy ? ['post-copy'] : []),
  ];
  return `${ways.join(', ')} only`;
}
