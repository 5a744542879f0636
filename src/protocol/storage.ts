// Storage pools and volumes as the API, CLI and UI see them.
// dir: a folder local to one host; shared: a folder mounted at the same path on every
// host (NFS, SAN), whose identity is proven by a marker file, never assumed; block: raw
// devices (partitions, logical volumes, loop devices) listed one by one.
import { z } from 'zod';

export const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** A volume name is a file name in its pool: no slashes, no leading dot, no '..'. */
export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;
const ABS_PATH = /^\/[^\0\n\r,]*$/;

export const PoolDef = z.discriminatedUnion('kind', [
  z.object({
    name: z.string().regex(POOL_NAME),
    kind: z.literal('dir'),
    path: z.string().regex(ABS_PATH, 'pool path must be absolute, without commas'),
  }),
  z.object({
    name: z.string().regex(POOL_NAME),
    kind: z.literal('shared'),
    path: z.string().regex(ABS_PATH, 'pool path must be absolute, without commas'),
  }),
  z.object({
    name: z.string().regex(POOL_NAME),
    kind: z.literal('block'),
    devices: z
      .array(z.string().regex(/^\/dev\/[A-Za-z0-9_./-]+$/, 'devices must be paths under /dev'))
      .min(1),
  }),
]);
export type PoolDef = z.infer<typeof PoolDef>;

export const PoolInfo = z.object({
  name: z.string(),
  kind: z.enum(['dir', 'shared', 'block']),
  path: z.string().optional(),
  devices: z.array(z.string()).optional(),
  /** Shared pools: the id in the pool's marker file, equal on every host that sees the same storage. */
  markerId: z.string().optional(),
  capacityBytes: z.number(),
  freeBytes: z.number(),
  allocationBytes: z.number(),
  volumeCount: z.number(),
});
export type PoolInfo = z.infer<typeof PoolInfo>;

export const VolumeInfo = z.object({
  pool: z.string(),
  name: z.string(),
  path: z.string(),
  format: z.enum(['qcow2', 'raw']),
  virtualSizeBytes: z.number(),
  /** Bytes the volume occupies on its storage (sparse files count only allocated blocks). */
  allocatedBytes: z.number(),
  /** The backing chain, nearest first, as absolute paths (qcow2 overlays only). */
  backingChain: z.array(z.object({ path: z.string(), format: z.string() })),
});
export type VolumeInfo = z.infer<typeof VolumeInfo>;

export const VolumeCreate = z.object({
  name: z
    .string()
    .regex(VOLUME_NAME, 'volume name: letters, digits, _ . + -, starting with a letter or digit'),
  sizeBytes: z.number().int().positive().optional(),
  format: z.enum(['qcow2', 'raw']).default('qcow2'),
  /** Make a qcow2 overlay on this volume of the same pool (a thin clone over a base image). */
  backingVolume: z.string().regex(VOLUME_NAME).optional(),
});
export type VolumeCreate = z.infer<typeof VolumeCreate>;
