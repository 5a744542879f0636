// Commands that act on the guest's devices and memory from outside: announce-self makes the
// guest's NICs send gratuitous ARP/RARP (after a migration, so switches learn the new port), and
// pmemsave dumps guest-physical memory to a file (used to verify memory contents in tests).

import type { QmpCommandOptions, QmpExecutor } from '../session.js';

export type AnnounceSelfArgs = {
  /** Milliseconds before the first round. */
  initial: number;
  /** Maximum milliseconds between rounds. */
  max: number;
  rounds: number;
  /** Milliseconds added to the delay each round. */
  step: number;
  /** NIC ids; all NICs when left out. */
  interfaces?: string[];
  id?: string;
};

export type PmemsaveArgs = {
  /** Guest-physical start address. */
  val: number;
  /** Bytes. */
  size: number;
  /** Written by the QEMU process, so the path is on QEMU's host and must be writable by it. */
  filename: string;
};

export async function announceSelf(
  qmp: QmpExecutor,
  args: AnnounceSelfArgs,
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('announce-self', { ...args }, options);
}

export async function pmemsave(
  qmp: QmpExecutor,
  args: PmemsaveArgs,
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('pmemsave', { ...args }, options);
}
