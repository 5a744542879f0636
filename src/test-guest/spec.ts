// The test guest as a VM spec: its kernel and initrd (built by scripts/build-guest.sh), its
// kernel command line, and its MAC and address in the guest subnet. `vmhop create --test-guest`,
// the UI server and the test bed all make test-guest VMs from this; running one on a test-bed
// host without an agent is the test bed's (testbed/guest.ts).
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VmhopError } from '../protocol/errors.js';
import { VmSpec } from '../protocol/vm-spec.js';
import { GUEST_DIR } from '../repo/paths.js';

export interface GuestWorkload {
  ip: string; // e.g. 10.77.0.5 (the /24 of the guest subnet is implied)
  memMiB?: number;
  memRateMiBs?: number;
  disk?: string; // e.g. /dev/vda
  diskRateKiBs?: number;
}

/** The uncompressed PVH kernel (vmlinux) when the build made one: TCG then skips ~3 s of xz. */
export function guestArtifacts(): { kernel: string; initrd: string } {
  const pvh = join(GUEST_DIR, 'vmlinux');
  const kernel = existsSync(pvh) ? pvh : join(GUEST_DIR, 'vmlinuz');
  const initrd = join(GUEST_DIR, 'initrd.img');
  if (!existsSync(kernel) || !existsSync(initrd)) {
    throw new VmhopError(
      'VMHOP_ERR_GUEST_NOT_BUILT',
      `the test guest is not built (${GUEST_DIR} is missing): run \`bash scripts/setup.sh\``,
      { path: GUEST_DIR },
    );
  }
  return { kernel, initrd };
}

export function guestCmdline(w: GuestWorkload): string {
  return [
    'console=ttyS0',
    'quiet',
    'panic=-1',
    `vmhop.ip=${w.ip}/24`,
    ...(w.memMiB ? [`vmhop.mem=${w.memMiB}`] : []),
    ...(w.memRateMiBs ? [`vmhop.memrate=${w.memRateMiBs}`] : []),
    ...(w.disk ? [`vmhop.disk=${w.disk}`] : []),
    ...(w.diskRateKiBs ? [`vmhop.diskrate=${w.diskRateKiBs}`] : []),
  ].join(' ');
}

/** A locally administered MAC derived from the guest address, so it is stable across hosts. */
export function guestMac(ip: string): string {
  const last = Number(ip.split('.')[3] ?? 0);
  return `52:54:00:77:00:${last.toString(16).padStart(2, '0')}`;
}

/** Guest addresses are handed out from .5 upward; .2 is the client, .1-.4 are kept free. */
export function guestAddress(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index > 245) {
    throw new RangeError(`guest index ${index} is outside 0..245`);
  }
  return `10.77.0.${5 + index}`;
}

/** The spec of a test-guest VM: direct kernel boot of the built guest, one NIC, an optional disk. */
export function testGuestSpec(o: {
  name: string;
  memoryMiB: number;
  workload: GuestWorkload;
  bridge: string;
  uuid?: string;
  disk?: { pool: string; volume: string; format: 'qcow2' | 'raw' };
}): VmSpec {
  const { kernel, initrd } = guestArtifacts();
  return VmSpec.parse({
    name: o.name,
    uuid: o.uuid ?? randomUUID(),
    memoryMiB: o.memoryMiB,
    machine: 'pc',
    boot: { kind: 'kernel', kernel, initrd, cmdline: guestCmdline(o.workload) },
    disks: o.disk ? [{ target: 'vda', ...o.disk }] : [],
    nics: [{ mac: guestMac(o.workload.ip), bridge: o.bridge }],
  });
}
