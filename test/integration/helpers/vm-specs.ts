// VM definitions for the API tests: a direct-kernel boot spec that defines anywhere (the
// kernel path only has to be absolute), and the test guest's kernel when a test boots it.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { VmSpecInput } from '../../../src/protocol/vm-spec.js';

export function kernelVm(name: string, overrides: Partial<VmSpecInput> = {}): VmSpecInput {
  return {
    name,
    uuid: randomUUID(),
    memoryMiB: 128,
    machine: 'pc',
    boot: { kind: 'kernel', kernel: '/boot/vmlinuz-test', cmdline: 'console=ttyS0' },
    disks: [],
    nics: [],
    ...overrides,
  };
}

const guestDir = resolve(import.meta.dirname, '../../../.cache/guest/current');

/** The test guest's kernel and initrd (scripts/build-guest.sh), or undefined when not built. */
export function testGuest(): { kernel: string; initrd: string } | undefined {
  const kernel = `${guestDir}/vmlinuz`;
  const initrd = `${guestDir}/initrd.img`;
  return existsSync(kernel) && existsSync(initrd) ? { kernel, initrd } : undefined;
}
