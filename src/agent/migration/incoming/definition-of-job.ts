// Target, every mode: the VM definition a peer brings (an offline commit, a live prepare) may
// use only what its job brought or what both hosts share. Each disk is a volume the job
// copied or created, the block device a dump of the job was written onto, or a volume of a
// shared pool here that no VM of this host uses (the source proved at pre-flight that the
// pool is the same storage). Without this, a peer could define a VM over another VM's disk,
// or boot it from any file of this host.
import { VmhopError } from '../../../protocol/errors.js';
import type { DiskSpec, VmSpec } from '../../../protocol/vm-spec.js';
import { checkBootFiles, pathPolicyOf } from '../../host/path-policy.js';
import type { MigrationContext } from '../context.js';
import type { Placed } from './place-partial.js';

function refuse(spec: VmSpec, target: string, where: string, why: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_USAGE',
    `the definition of \`${spec.name}\` from the source gives disk ${target} \`${where}\`, ${why}: a migration defines a VM only over what its job copies or over a shared pool`,
    { vm: spec.name, disk: target, volume: where },
  );
}

/** `brought` says whether the job itself copied or created the disk's volume. */
export async function assertDefinitionOfJob(
  c: MigrationContext,
  spec: VmSpec,
  brought: (disk: DiskSpec) => boolean | Promise<boolean>,
): Promise<void> {
  const byUuid = c.vmStore.byUuid(spec.uuid);
  if (byUuid) {
    throw new VmhopError(
      'VMHOP_ERR_VM_EXISTS',
      `uuid ${spec.uuid} already belongs to VM \`${byUuid.name}\` on \`${c.config.name}\`: undefine it there first`,
      { uuid: spec.uuid, vm: byUuid.name },
    );
  }
  const inUse = new Set(c.vmStore.list().flatMap((v) => v.spec.disks.map((d) => `${d.pool}/${d.volume}`)));
  for (const disk of spec.disks) {
    if (await brought(disk)) continue;
    const where = `${disk.pool}/${disk.volume}`;
    const pool = await c.storage.poolInfo(disk.pool).catch(() => undefined);
    if (pool?.kind !== 'shared') throw refuse(spec, disk.target, where, 'which this job does not copy');
    if (inUse.has(where)) throw refuse(spec, disk.target, where, 'which a VM of this host uses');
    await c.storage.resolvePath(disk.pool, disk.volume);
  }
  await checkBootFiles(pathPolicyOf(c.config), spec);
}

/** An offline commit's disks: copied by the job, or a block device a dump of the job was written onto. */
export function offlineBrought(c: MigrationContext, placed: readonly Placed[]) {
  return async (disk: DiskSpec): Promise<boolean> => {
    for (const p of placed) {
      if (p.kind !== 'volume' || p.status !== 'copy') continue;
      if (!p.device && p.pool === disk.pool && p.name === disk.volume) return true;
      if (p.device) {
        const ref = await c.storage.blockDevice(p.device);
        if (ref.pool === disk.pool && ref.volume === disk.volume) return true;
      }
    }
    return false;
  };
}
