// The test guest's spec in the browser, matching `vmhop create --test-guest`: direct kernel
// boot of the built guest, a NIC whose MAC derives from the guest address, and the lowest
// address of 10.77.0.5-250 not used by a test guest on any known host. (The CLI's builder in
// src/test-guest reads the file system, so the UI keeps this small copy of its rules.)
import type { VmInfo } from '../../../protocol/vm.js';
import type { VmSpecInput } from '../../../protocol/vm-spec.js';

export interface TestGuestForm {
  name: string;
  memoryMiB: number;
  vcpus: number;
  bridge: string;
  memDirtyMiB?: number;
  disk?: { pool: string; volume: string };
}

export function freeGuestAddress(vms: VmInfo[]): string | undefined {
  const used = new Set<string>();
  for (const v of vms) {
    const m = v.spec.boot.kind === 'kernel' ? /vmhop\.ip=([\d.]+)\//.exec(v.spec.boot.cmdline) : null;
    if (m?.[1]) used.add(m[1]);
  }
  for (let i = 5; i <= 250; i++) if (!used.has(`10.77.0.${i}`)) return `10.77.0.${i}`;
  return undefined;
}

export function testGuestSpec(
  f: TestGuestForm,
  ip: string,
  files: { kernel: string; initrd: string },
): VmSpecInput {
  const last = Number(ip.split('.')[3] ?? 0);
  const cmdline = [
    'console=ttyS0',
    'quiet',
    'panic=-1',
    `vmhop.ip=${ip}/24`,
    ...(f.memDirtyMiB ? [`vmhop.mem=${f.memDirtyMiB}`, 'vmhop.memrate=8'] : []),
  ].join(' ');
  return {
    name: f.name,
    uuid: crypto.randomUUID(),
    vcpus: f.vcpus,
    memoryMiB: f.memoryMiB,
    machine: 'pc',
    boot: { kind: 'kernel', kernel: files.kernel, initrd: files.initrd, cmdline },
    disks: f.disk ? [{ target: 'vda', pool: f.disk.pool, volume: f.disk.volume, format: 'qcow2' }] : [],
    nics: [{ mac: `52:54:00:77:00:${last.toString(16).padStart(2, '0')}`, bridge: f.bridge }],
  };
}
