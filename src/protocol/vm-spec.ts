// The typed VM definition every part agrees on (API, CLI, UI, agent-to-agent): what a VM
// is, independent of any host. Host-specific facts (a disk's file path, a tap device, a QMP
// socket) are resolved by the agent at start time, never stored here.
// Every string that later reaches a QEMU argv is constrained by its pattern here.
import { z } from 'zod';
import { VOLUME_NAME } from './storage.js';

export const VM_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Identifiers QEMU accepts as -machine/-cpu values and device ids: no commas, no '='. */
const QEMU_IDENT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ABS_PATH = /^\/[^\0\n\r,]*$/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

export const DiskSpec = z.object({
  /** Guest-visible name, also the QEMU device id: vda, vdb, ... */
  target: z.string().regex(/^vd[a-z]$/, 'disk target must be vda..vdz'),
  pool: z.string().regex(QEMU_IDENT),
  volume: z.string().regex(VOLUME_NAME),
  format: z.enum(['qcow2', 'raw']).default('qcow2'),
  bus: z.literal('virtio').default('virtio'),
  /** 'none' (O_DIRECT) is the only mode that is safe to live-migrate on shared storage. */
  cache: z.enum(['none', 'writeback', 'writethrough', 'directsync', 'unsafe']).default('none'),
  readOnly: z.boolean().default(false),
});
export type DiskSpec = z.infer<typeof DiskSpec>;

export const NicSpec = z.object({
  mac: z.string().regex(MAC, 'MAC must be six lower-case hex pairs, e.g. 52:54:00:12:34:56'),
  bridge: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'bridge must be a Linux interface name'),
  model: z.literal('virtio-net-pci').default('virtio-net-pci'),
});
export type NicSpec = z.infer<typeof NicSpec>;

export const BootSpec = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('kernel'),
    kernel: z.string().regex(ABS_PATH, 'kernel must be an absolute path without commas'),
    initrd: z.string().regex(ABS_PATH, 'initrd must be an absolute path without commas').optional(),
    cmdline: z
      .string()
      .max(2048)
      .regex(/^[\x20-\x7e]*$/, 'kernel command line must be printable ASCII')
      .default(''),
  }),
  z.object({ kind: z.literal('disk') }),
]);
export type BootSpec = z.infer<typeof BootSpec>;

export const VmSpec = z
  .object({
    name: z.string().regex(VM_NAME, 'VM name: 1-63 letters, digits, _ . -, starting with a letter or digit'),
    uuid: z.string().uuid(),
    vcpus: z.number().int().min(1).max(64).default(1),
    memoryMiB: z
      .number()
      .int()
      .min(16)
      .max(1024 * 1024),
    machine: z.string().regex(QEMU_IDENT).default('q35'),
    cpuModel: z.string().regex(QEMU_IDENT).default('qemu64'),
    boot: BootSpec,
    disks: z.array(DiskSpec).max(16).default([]),
    nics: z.array(NicSpec).max(8).default([]),
    vnc: z.boolean().default(false),
    /** Drain order (issue 17): a higher priority moves earlier; absent is 0. */
    priority: z.number().int().min(-100).max(100).optional(),
  })
  .superRefine((spec, ctx) => {
    const dup = (values: string[]) => values.find((v, i) => values.indexOf(v) !== i);
    const disk = dup(spec.disks.map((d) => d.target));
    if (disk) ctx.addIssue({ code: 'custom', path: ['disks'], message: `disk target ${disk} is used twice` });
    const mac = dup(spec.nics.map((n) => n.mac));
    if (mac) ctx.addIssue({ code: 'custom', path: ['nics'], message: `MAC ${mac} is used twice` });
  });
export type VmSpec = z.infer<typeof VmSpec>;
export type VmSpecInput = z.input<typeof VmSpec>;
