// A migration's policy (protocol/policy.ts) turned into the options the engine runs with: the
// post-copy, auto-converge and duration options it implies for this mode, the user's own flags
// kept, and a flag that contradicts a policy named in the same request refused naming both. Pure:
// admission applies it before the options are planned; the RAM watcher judges by the policy.
import { VmhopError } from '../../protocol/errors.js';
import type { MigrationMode, MigrationOptions } from '../../protocol/migration.js';
import { POLICIES, type Policy, type PolicyName } from '../../protocol/policy.js';

/** Post-copy is driven for live migrations over shared storage only, and QEMU refuses it with multifd. */
export function postcopyPossible(mode: MigrationMode, o: Pick<MigrationOptions, 'parallel'>): boolean {
  return mode === 'live-shared' && o.parallel === undefined;
}

export function policyOf(o: Pick<MigrationOptions, 'policy'>): Policy | undefined {
  return o.policy ? POLICIES[o.policy] : undefined;
}

/**
 * The options a job runs with. A policy named in the request refuses a flag that contradicts
 * it; the host's default policy gives way to the flags (they are the user's explicit word).
 */
export function applyPolicy(
  opts: MigrationOptions,
  mode: MigrationMode,
  hostDefault: PolicyName,
): MigrationOptions {
  if (mode === 'offline') return opts;
  const named = opts.policy !== undefined;
  const p = POLICIES[opts.policy ?? hostDefault];
  if (named) refuseContradictions(p, opts, mode);
  if (p.name === 'manual') return { ...opts, policy: p.name };
  const postcopy = p.postcopy !== 'never' && postcopyPossible(mode, opts);
  const throttle = p.throttle === 'always' || (p.throttle === 'without-postcopy' && !postcopy);
  const duration = opts.timeoutS === undefined && p.maxDurationS !== undefined;
  return {
    ...opts,
    policy: p.name,
    postcopy: opts.postcopy || postcopy,
    postcopyAfterPrecopy: opts.postcopyAfterPrecopy || (postcopy && p.postcopy === 'after-first-pass'),
    autoConverge: opts.autoConverge || throttle,
    ...(duration ? { timeoutS: p.maxDurationS, timeoutAction: 'abort' as const } : {}),
  };
}

function refuseContradictions(p: Policy, o: MigrationOptions, mode: MigrationMode): void {
  const refusals: string[] = [];
  const flag = `--policy ${p.name}`;
  const asksPostcopy = [
    ...(o.postcopy ? ['--postcopy'] : []),
    ...(o.postcopyAfterPrecopy ? ['--postcopy-after-precopy'] : []),
    ...(o.timeoutAction === 'postcopy' ? ['--timeout-action postcopy'] : []),
  ];
  if (p.name !== 'manual' && p.postcopy === 'never' && asksPostcopy.length)
    refusals.push(
      `${flag} never switches to post-copy but ${asksPostcopy.join(', ')} asks for it: drop ${asksPostcopy.join(', ')}, or pick --policy finish or postcopy`,
    );
  if (p.name !== 'manual' && p.throttle === 'never' && o.autoConverge)
    refusals.push(
      `${flag} never slows the guest but --auto-converge asks for it: drop --auto-converge, or pick --policy throttle or finish`,
    );
  if (p.name === 'strict' && o.timeoutAction === 'suspend')
    refusals.push(
      `${flag} never pauses the guest longer than its max pause but --timeout-action suspend pauses it until the copy ends: use --timeout-action abort, or pick --policy manual`,
    );
  if (p.postcopy === 'after-first-pass' && !postcopyPossible(mode, o))
    refusals.push(
      `${flag} needs post-copy, which ${mode === 'live-shared' ? `cannot run with --parallel ${o.parallel} (QEMU refuses post-copy with multifd)` : 'runs only for live migrations over shared storage, not with --copy-storage'}: pick --policy finish or throttle${mode === 'live-shared' ? ', or drop --parallel' : ''}`,
    );
  if (refusals.length)
    throw new VmhopError('VMHOP_ERR_MIGRATION_OPTIONS', refusals.join('; '), { refusals, policy: p.name });
}
