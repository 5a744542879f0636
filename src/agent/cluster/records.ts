// The JSON values vmhop keeps in etcd (a host's member record, a VM's owner record) and their
// validation on read: etcd is shared ground that an operator's etcdctl can write too, so every
// value read is checked, and a malformed one becomes VMHOP_ERR_CLUSTER_RECORD_INVALID naming the
// key, never a crash of the watch or of the caller.
import { z } from 'zod';
import { VmhopError } from '../../protocol/errors.js';

export const MemberValue = z.object({
  name: z.string().min(1),
  url: z.string().url(),
  migrationAddress: z.string().min(1),
  agentVersion: z.string().min(1),
  protocolVersions: z.object({ min: z.number().int(), max: z.number().int() }),
  maintenance: z.boolean(),
  // Optional: records of agents older than these fields stay valid.
  qemu: z.object({ version: z.string().min(1), accel: z.enum(['kvm', 'tcg']) }).optional(),
  load: z
    .object({
      memoryFreeBytes: z.number().int().nonnegative(),
      vmCount: z.number().int().nonnegative(),
      at: z.string().min(1),
    })
    .optional(),
});
export type MemberRecord = z.infer<typeof MemberValue>;

/** The stored owner value; its mod_revision comes from etcd, not from the value. */
export const OwnerValue = z.object({
  host: z.string().min(1),
  vm: z.string().min(1),
  job: z.string().min(1).optional(),
  epoch: z.number().int().positive(),
});
export type OwnerValue = z.infer<typeof OwnerValue>;

export interface OwnerRecord extends OwnerValue {
  /** The owner key's mod_revision: the fencing token a later compare-and-swap compares. */
  modRevision: string;
}

function invalid(key: string, what: string, problem: string, raw: string): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_CLUSTER_RECORD_INVALID',
    `etcd key \`${key}\` does not hold a valid ${what} (${problem}); only vmhop agents write it: inspect it with \`etcdctl get ${key}\`, then delete it or restore it from an agent`,
    { key, problem, value: raw.slice(0, 200) },
  );
}

function parse<T>(schema: z.ZodType<T>, key: string, what: string, value: Buffer | string): T | VmhopError {
  const raw = value.toString();
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (e) {
    return invalid(key, what, `not JSON: ${(e as Error).message}`, raw);
  }
  const r = schema.safeParse(doc);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');
    return invalid(key, what, issues, raw);
  }
  return r.data;
}

/** A member value read under members/<host>; its name must be the key's. */
export function parseMember(key: string, host: string, value: Buffer | string): MemberRecord | VmhopError {
  const m = parse(MemberValue, key, 'member record', value);
  if (m instanceof VmhopError || m.name === host) return m;
  return invalid(
    key,
    'member record',
    `it names host \`${m.name}\`, the key host \`${host}\``,
    value.toString(),
  );
}

export function parseOwner(
  key: string,
  value: Buffer | string,
  modRevision: string,
): OwnerRecord | VmhopError {
  const o = parse(OwnerValue, key, 'owner record', value);
  return o instanceof VmhopError ? o : { ...o, modRevision };
}

export function ownerValue(o: OwnerValue): string {
  return JSON.stringify(OwnerValue.parse(o));
}
