// Migration policies (issue 15 §2): what a live migration may do to finish when the guest dirties
// memory (or writes its disks) faster than the link drains it. A policy is picked per migration
// (`--policy`, the request's `options.policy`) or per host (the agent's `migrationPolicy`); the
// engine applies it (agent/migration/policy.ts) and judges convergence at each RAM pass.
import { z } from 'zod';

export const PolicyName = z.enum(['finish', 'postcopy', 'throttle', 'strict', 'manual']);
export type PolicyName = z.infer<typeof PolicyName>;

export interface Policy {
  name: PolicyName;
  /** One line for the CLI's help and the README. */
  summary: string;
  /** The pause at the switchover QEMU aims under (its downtime-limit), ms. */
  maxPauseMs: number;
  /**
   * Longest the copy may take before the policy acts, s (unset: no limit). The engine acts when
   * 80% of it is gone, so that a switch to post-copy still has time to finish.
   */
  maxDurationS?: number;
  /**
   * Post-copy: never; when the pre-copy is judged not to converge (or the duration runs out);
   * or right after the first full RAM pass. Only for live migrations over shared storage whose
   * QEMUs both have postcopy-ram (not with multifd): elsewhere the policy goes on without it.
   */
  postcopy: 'never' | 'when-stuck' | 'after-first-pass';
  /**
   * Slow the guest's vCPUs (QEMU's auto-converge) when it dirties faster than the link sends:
   * never, always (QEMU throttles by its own trigger), or only when post-copy is not available.
   */
  throttle: 'never' | 'always' | 'without-postcopy';
  /** Judge convergence at each pass and act; `manual` leaves it to --timeout and the operator. */
  judge: boolean;
}

export const POLICIES: Record<PolicyName, Policy> = {
  finish: {
    name: 'finish',
    summary:
      'default: pre-copy; when it does not converge, post-copy (shared storage), else the guest is slowed (auto-converge)',
    maxPauseMs: 300,
    postcopy: 'when-stuck',
    throttle: 'without-postcopy',
    judge: true,
  },
  postcopy: {
    name: 'postcopy',
    summary:
      'post-copy right after the first full RAM pass: the shortest total, the guest runs on the target early',
    maxPauseMs: 300,
    postcopy: 'after-first-pass',
    throttle: 'without-postcopy',
    judge: true,
  },
  throttle: {
    name: 'throttle',
    summary:
      'never post-copy: the guest is slowed (auto-converge) so pre-copy converges; ends with the source running after 10 min',
    maxPauseMs: 300,
    maxDurationS: 600,
    postcopy: 'never',
    throttle: 'always',
    judge: true,
  },
  strict: {
    name: 'strict',
    summary:
      'never post-copy, never slow the guest: a pre-copy that does not converge is ended with the source running',
    maxPauseMs: 300,
    postcopy: 'never',
    throttle: 'never',
    judge: true,
  },
  manual: {
    name: 'manual',
    summary:
      'only the flags given (--postcopy, --auto-converge, --timeout): runs until --timeout or cancelled',
    maxPauseMs: 300,
    postcopy: 'never',
    throttle: 'never',
    judge: false,
  },
};

export const DEFAULT_POLICY: PolicyName = 'finish';
