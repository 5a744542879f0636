// Where on this host a client may point the agent: pool directories only under the
// configured pool roots, and a VM's kernel and initrd only from the configured boot
// directories (the agent's data directory counts as both). Without it a client token could
// define a pool at `/etc` and read any file through it, or boot a guest from `/etc/shadow`.
// Paths are compared after resolving symbolic links, so a link in an allowed directory that
// leads out of it is refused too. A refusal names the path, the allowed list and the setting.
import { VmhopError } from '../../protocol/errors.js';
import { isInside, realishPath } from '../storage/pool-paths.js';

export interface PathPolicy {
  /** Absolute directories under which a dir or shared pool may be defined. */
  poolRoots: readonly string[];
  /** Absolute directories from which a VM may take its kernel and initrd. */
  bootDirs: readonly string[];
}

/** The policy of an agent config: the configured lists, each with the data directory added. */
export function pathPolicyOf(cfg: {
  dataDir: string;
  allowedPoolRoots: readonly string[];
  allowedBootDirs: readonly string[];
}): PathPolicy {
  return {
    poolRoots: [cfg.dataDir, ...cfg.allowedPoolRoots],
    bootDirs: [cfg.dataDir, ...cfg.allowedBootDirs],
  };
}

async function within(path: string, dirs: readonly string[]): Promise<boolean> {
  const real = await realishPath(path);
  for (const dir of dirs) {
    const root = await realishPath(dir);
    if (real === root || isInside(root, real)) return true;
  }
  return false;
}

const listed = (dirs: readonly string[]) => dirs.map((d) => `\`${d}\``).join(', ');

export async function checkPoolPath(policy: PathPolicy, pool: string, path: string): Promise<void> {
  if (await within(path, policy.poolRoots)) return;
  throw new VmhopError(
    'VMHOP_ERR_PATH_NOT_ALLOWED',
    `pool \`${pool}\` at \`${path}\` is outside the directories this agent allows pools in ` +
      `(${listed(policy.poolRoots)}): use a directory under one of them, or add its parent to ` +
      '`allowedPoolRoots` in the agent config (/etc/vmhop/agent.json) and restart the agent',
    { pool, path, allowed: policy.poolRoots, setting: 'allowedPoolRoots' },
  );
}

export async function checkBootFile(
  policy: PathPolicy,
  vm: string,
  what: 'kernel' | 'initrd',
  path: string,
): Promise<void> {
  if (await within(path, policy.bootDirs)) return;
  throw new VmhopError(
    'VMHOP_ERR_PATH_NOT_ALLOWED',
    `the ${what} \`${path}\` of VM \`${vm}\` is outside the directories this agent boots guests from ` +
      `(${listed(policy.bootDirs)}): copy the file into one of them, or add its directory to ` +
      '`allowedBootDirs` in the agent config (/etc/vmhop/agent.json) and restart the agent',
    { vm, what, path, allowed: policy.bootDirs, setting: 'allowedBootDirs' },
  );
}

/** Both boot files of a spec that boots from a kernel; nothing for a disk boot. */
export async function checkBootFiles(
  policy: PathPolicy,
  spec: { name: string; boot: { kind: 'disk' } | { kind: 'kernel'; kernel: string; initrd?: string } },
): Promise<void> {
  if (spec.boot.kind !== 'kernel') return;
  await checkBootFile(policy, spec.name, 'kernel', spec.boot.kernel);
  if (spec.boot.initrd !== undefined) await checkBootFile(policy, spec.name, 'initrd', spec.boot.initrd);
}
