// The migration features of one QEMU, read from its QMP schema (query-qmp-schema) and its
// migration capabilities: what the options layer and the pre-flight compare between the two sides.
// Pure: the probe (capabilities.ts) runs the commands; this only reads their replies. The schema
// names types by numbers that differ between builds, so types are followed by name, never compared.
import type { QemuFeatures } from '../../protocol/host.js';
import type { MigrationCapabilityStatus, SchemaInfo } from '../../qmp/index.js';

/**
 * The QMP commands whose presence vmhop reports: the ones its engine uses, and the newer ones an
 * option may need (block-job-change: mirror copy-mode on a running job; set-vcpu-dirty-limit).
 */
export const watchedCommands = [
  'announce-self',
  'block-export-add',
  'block-job-change',
  'blockdev-mirror',
  'calc-dirty-rate',
  'migrate-pause',
  'migrate-recover',
  'migrate-start-postcopy',
  'nbd-server-start',
  'query-migrationthreads',
  'set-vcpu-dirty-limit',
] as const;

export function qemuFeaturesOf(
  schema: SchemaInfo[],
  capabilities: MigrationCapabilityStatus[],
): QemuFeatures {
  const byName = new Map(schema.map((e) => [e.name, e]));
  const command = (name: string) => {
    const e = byName.get(name);
    return e?.['meta-type'] === 'command' ? e : undefined;
  };
  const setParams = command('migrate-set-parameters');
  const argType = setParams ? byName.get(setParams['arg-type']) : undefined;
  const members = argType?.['meta-type'] === 'object' ? argType.members : [];
  const compression = byName.get(members.find((m) => m.name === 'multifd-compression')?.type ?? '');
  return {
    migrationCapabilities: capabilities.map((c) => c.capability).sort(),
    migrationParameters: members.map((m) => m.name).sort(),
    multifdCompression: compression?.['meta-type'] === 'enum' ? [...compression.values] : [],
    commands: watchedCommands.filter((c) => command(c) !== undefined),
  };
}

/** `major.minor.micro` as numbers; a missing part counts as 0. */
export function parseQemuVersion(version: string): [number, number, number] {
  const [major = 0, minor = 0, micro = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return [major, minor, micro];
}

/** Negative when `a` is older than `b`, 0 when equal, positive when newer. */
export function compareQemuVersions(a: string, b: string): number {
  const [x, y] = [parseQemuVersion(a), parseQemuVersion(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}
