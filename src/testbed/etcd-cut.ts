// Cutting one host off the test bed's etcd (`link etcd down --host a`) while its management
// traffic to the other hosts flows on, as when the path to the etcd member fails. This kernel
// has no tc actions (drop, police) and no netem, so packets are classified by u32 into an htb
// class whose leaf is a blackhole qdisc: they vanish without an error, in both directions
// (host egress on its mgmt0 towards etcd, and the bridge's port towards the host from etcd).
import { run } from './exec.js';
import { runInNetns } from './host-exec.js';
import { ETCD_ADDRESS, type HostPlan } from './plan.js';

/** The `tc` invocations that blackhole IPv4 packets on `dev` whose `match` address is `address`. */
export function cutCommands(dev: string, match: 'dst' | 'src', address: string): string[][] {
  return [
    ['qdisc', 'replace', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '1'],
    // Everything else: a class too fast to shape anything (explicit quanta keep htb quiet).
    [
      'class',
      'replace',
      'dev',
      dev,
      'parent',
      '1:',
      'classid',
      '1:1',
      'htb',
      'rate',
      '100gbit',
      'quantum',
      '60000',
    ],
    [
      'class',
      'replace',
      'dev',
      dev,
      'parent',
      '1:',
      'classid',
      '1:2',
      'htb',
      'rate',
      '8bit',
      'quantum',
      '1514',
    ],
    ['qdisc', 'replace', 'dev', dev, 'parent', '1:2', 'handle', '20:', 'blackhole'],
    // u32 has no replace-by-key: callers add this once, on a device that is not cut yet.
    [
      'filter',
      'add',
      'dev',
      dev,
      'parent',
      '1:',
      'pref',
      '49',
      'protocol',
      'ip',
      'u32',
      'match',
      'ip',
      match,
      `${address}/32`,
      'flowid',
      '1:2',
    ],
  ];
}

/** Removing the root qdisc takes class, filter and blackhole with it; a device without one is fine. */
export const restoreCommand = (dev: string): string[] => ['qdisc', 'del', 'dev', dev, 'root'];

type Tc = (args: string[], allowFail?: boolean) => Promise<{ stdout: string; exitCode: number }>;

/** The two ends of a host's cut: its own mgmt0 (inside its namespace) and its bridge port. */
function ends(h: HostPlan): { tc: Tc; dev: string; match: 'dst' | 'src' }[] {
  return [
    { tc: (a, allowFail) => runInNetns(h.netns, ['tc', ...a], { allowFail }), dev: 'mgmt0', match: 'dst' },
    { tc: (a, allowFail) => run('tc', a, { allowFail }), dev: h.ports.mgmt, match: 'src' },
  ];
}

const isCut = async (tc: Tc, dev: string) =>
  /\bblackhole\b/.test((await tc(['qdisc', 'show', 'dev', dev], true)).stdout);

export async function setEtcdLink(h: HostPlan, to: 'up' | 'down'): Promise<void> {
  for (const { tc, dev, match } of ends(h)) {
    if (to === 'up') {
      await tc(restoreCommand(dev), true);
      continue;
    }
    if (await isCut(tc, dev)) continue;
    await tc(restoreCommand(dev), true);
    try {
      for (const c of cutCommands(dev, match, ETCD_ADDRESS)) await tc(c);
    } catch (e) {
      // Never leave a half-made cut (a class without its filter shapes nothing but confuses).
      await tc(restoreCommand(dev), true);
      throw e;
    }
  }
}

/** 'down' when both ends are cut, 'up' when neither is. */
export async function etcdLinkState(h: HostPlan): Promise<'up' | 'down' | 'partial'> {
  let cut = 0;
  for (const { tc, dev } of ends(h)) if (await isCut(tc, dev)) cut++;
  return cut === 0 ? 'up' : cut === 2 ? 'down' : 'partial';
}
