// Runs a command "on" a test-bed host: inside its network namespace and its persistent
// mount namespace, so it sees that host's own /var/lib/vmhop and /run/vmhop.
// `ip netns exec` would make a fresh mount namespace per call and lose those mounts.
import { hostPlan, type HostPlan } from './plan.js';
import { run, type RunResult } from './exec.js';

export function nsenterArgs(plan: Pick<HostPlan, 'netns' | 'mountNsFile'>): string[] {
  return [`--net=/run/netns/${plan.netns}`, `--mount=${plan.mountNsFile}`, '--'];
}

/** The argv (for spawn) that runs `argv` on host `name`. */
export function onHostArgv(name: string, index: number, argv: readonly string[]): string[] {
  return ['nsenter', ...nsenterArgs(hostPlan(name, index)), ...argv];
}

export async function runOnHost(
  plan: HostPlan,
  argv: readonly string[],
  opts: { allowFail?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new RangeError('runOnHost needs a command');
  return run('nsenter', [...nsenterArgs(plan), file, ...args], opts);
}

/** Runs a command in a network namespace only (the client, which has no mounts of its own). */
export async function runInNetns(
  netns: string,
  argv: readonly string[],
  opts: { allowFail?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run('nsenter', [`--net=/run/netns/${netns}`, '--', ...argv], opts);
}
