// The test bed's networks, made idempotently: three bridges in the root namespace
// (management, migration, guest L2) and, per host, veth pairs into its namespace.
// The guest network is plain L2 (a guest on a tap in the host's br0 keeps its address
// when it moves); the migration link is what `tc` shapes and what `link down` cuts.
import { VmhopError } from '../protocol/errors.js';
import { run, succeeds } from './exec.js';
import { runInNetns } from './host-exec.js';
import {
  BRIDGES,
  CLIENT_ADDRESS,
  CLIENT_NETNS,
  ROOT_MGMT_ADDRESS,
  type EtcdPlan,
  type HostPlan,
} from './plan.js';

const ip = (...args: string[]) => run('ip', args);
const linkExists = (dev: string) => succeeds('ip', ['link', 'show', 'dev', dev]);
const netnsExists = async (ns: string) =>
  (await run('ip', ['netns', 'list'])).stdout.split('\n').some((l) => l.split(' ')[0] === ns);

async function ensureBridge(name: string, address?: string): Promise<void> {
  if (!(await linkExists(name))) await ip('link', 'add', name, 'type', 'bridge');
  if (address) await ip('addr', 'replace', `${address}/24`, 'dev', name);
  await ip('link', 'set', name, 'up');
}

export async function ensureNetns(ns: string): Promise<void> {
  if (!(await netnsExists(ns))) await ip('netns', 'add', ns);
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
}

/** A veth pair: `outer` in the root namespace on `bridge`, `inner` inside `ns`. */
async function ensureVeth(outer: string, ns: string, inner: string, bridge: string): Promise<void> {
  // A leftover outer end whose peer lives in a namespace that is gone (or still held by a
  // dying process) would make `up` fail on the inner end: start that pair afresh.
  if ((await linkExists(outer)) && !(await succeeds('ip', ['-n', ns, 'link', 'show', 'dev', inner]))) {
    await ip('link', 'del', outer);
  }
  if (!(await linkExists(outer))) {
    await ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', ns);
  }
  await ip('link', 'set', outer, 'master', bridge, 'up');
  await ip('-n', ns, 'link', 'set', inner, 'up');
}

export async function ensureRootBridges(): Promise<void> {
  await ensureBridge(BRIDGES.mgmt, ROOT_MGMT_ADDRESS);
  await ensureBridge(BRIDGES.migration);
  await ensureBridge(BRIDGES.guest);
}

export async function ensureHostNetwork(h: HostPlan): Promise<void> {
  await ensureNetns(h.netns);
  await ensureVeth(h.ports.mgmt, h.netns, 'mgmt0', BRIDGES.mgmt);
  await ip('-n', h.netns, 'addr', 'replace', `${h.mgmtAddress}/24`, 'dev', 'mgmt0');
  await ensureVeth(h.ports.migration, h.netns, 'mig0', BRIDGES.migration);
  await ip('-n', h.netns, 'addr', 'replace', `${h.migrationAddress}/24`, 'dev', 'mig0');
  await ensureVeth(h.ports.guest, h.netns, 'uplink0', BRIDGES.guest);
  const inner = await runInNetns(h.netns, ['ip', 'link', 'show', 'dev', 'br0'], { allowFail: true });
  if (inner.exitCode !== 0) await ip('-n', h.netns, 'link', 'add', 'br0', 'type', 'bridge');
  await ip('-n', h.netns, 'link', 'set', 'uplink0', 'master', 'br0');
  await ip('-n', h.netns, 'link', 'set', 'br0', 'up');
}

export async function ensureClientNetwork(): Promise<void> {
  await ensureNetns(CLIENT_NETNS);
  await ensureVeth('vh-client-g', CLIENT_NETNS, 'eth0', BRIDGES.guest);
  await ip('-n', CLIENT_NETNS, 'addr', 'replace', `${CLIENT_ADDRESS}/24`, 'dev', 'eth0');
}

/** The etcd member's namespace: one leg on the management bridge, like a host's mgmt0. */
export async function ensureEtcdNetwork(p: EtcdPlan): Promise<void> {
  await ensureNetns(p.netns);
  await ensureVeth(p.port, p.netns, 'mgmt0', BRIDGES.mgmt);
  await ip('-n', p.netns, 'addr', 'replace', `${p.address}/24`, 'dev', 'mgmt0');
}

export type LinkNet = 'migration' | 'guest';

/** Cutting detaches the host ports from the bridge: both ends keep carrier and addresses,
 *  so packets vanish silently, as when a switch or cable fails beyond the host. */
export async function setLink(hosts: HostPlan[], net: LinkNet, state: 'up' | 'down'): Promise<void> {
  for (const h of hosts) {
    const port = net === 'migration' ? h.ports.migration : h.ports.guest;
    const bridge = net === 'migration' ? BRIDGES.migration : BRIDGES.guest;
    if (state === 'down') await ip('link', 'set', port, 'nomaster');
    else await ip('link', 'set', port, 'master', bridge, 'up');
  }
}

/** 'up' when every host's port on that net is attached to its bridge. */
export async function linkState(
  hosts: HostPlan[],
  net: LinkNet,
): Promise<'up' | 'down' | 'partial' | 'absent'> {
  const bridge = net === 'migration' ? BRIDGES.migration : BRIDGES.guest;
  let attached = 0;
  for (const h of hosts) {
    const port = net === 'migration' ? h.ports.migration : h.ports.guest;
    const r = await run('ip', ['-j', 'link', 'show', 'dev', port], { allowFail: true });
    if (r.exitCode !== 0) return 'absent';
    const [info] = JSON.parse(r.stdout) as { master?: string }[];
    if (info?.master === bridge) attached++;
  }
  return attached === hosts.length ? 'up' : attached === 0 ? 'down' : 'partial';
}

export async function removeNetns(ns: string): Promise<void> {
  if (await netnsExists(ns)) await ip('netns', 'del', ns);
}

/** Deletes `dev`; one that vanishes meanwhile (its namespace went) is just as good. */
export async function removeLink(dev: string): Promise<void> {
  const r = await run('ip', ['link', 'del', dev], { allowFail: true });
  if (r.exitCode !== 0 && (await linkExists(dev))) {
    throw new VmhopError('VMHOP_ERR_COMMAND_FAILED', `cannot delete ${dev}: ${r.stderr.trim()}`, { dev });
  }
}

export async function listOurNetns(): Promise<string[]> {
  const out = (await run('ip', ['netns', 'list'])).stdout;
  return out
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('vmhop-'));
}

/** Root-namespace veth ends the test bed made (vh-<host>-m|x|g, vh-client-g, vh-etcd-m). */
export async function ourRootPorts(): Promise<string[]> {
  const links = JSON.parse((await run('ip', ['-j', 'link', 'show'])).stdout) as { ifname: string }[];
  return links.map((l) => l.ifname).filter((n) => /^vh-[a-z0-9]+-[mxg]$/.test(n));
}
