// What a QEMU binary offers: query-version, query-machines, query-cpu-definitions, and its whole
// QMP schema (query-qmp-schema). Pre-flight compares these between source and target (same
// machine type available, CPU model usable without missing features, the migration features both
// sides have) before anything moves.

import type { QmpVersion } from '../messages.js';
import type { QmpCommandOptions, QmpExecutor } from '../session.js';

export type MachineInfo = {
  name: string;
  /** e.g. `q35` for the newest `pc-q35-*`. */
  alias?: string;
  'is-default'?: boolean;
  'cpu-max': number;
  'hotpluggable-cpus': boolean;
  'numa-mem-supported': boolean;
  deprecated: boolean;
  'default-cpu-type'?: string;
  'default-ram-id'?: string;
};

export type CpuDefinitionInfo = {
  name: string;
  'migration-safe'?: boolean;
  static: boolean;
  /** Features this host/accelerator lacks for the model; empty means the model is usable as is. */
  'unavailable-features'?: string[];
  typename: string;
  'alias-of'?: string;
  deprecated: boolean;
};

export function queryVersion(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<QmpVersion> {
  return qmp.execute<QmpVersion>('query-version', undefined, options);
}

export function queryMachines(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<MachineInfo[]> {
  return qmp.execute<MachineInfo[]>('query-machines', undefined, options);
}

export function queryCpuDefinitions(
  qmp: QmpExecutor,
  options?: QmpCommandOptions,
): Promise<CpuDefinitionInfo[]> {
  return qmp.execute<CpuDefinitionInfo[]>('query-cpu-definitions', undefined, options);
}

/**
 * One entity of the QMP schema. QEMU names non-builtin types by opaque numbers ("142") that differ
 * between versions and builds: follow `arg-type`, `members[].type` and `element-type` by name,
 * never compare them across binaries.
 */
export type SchemaInfo =
  | {
      name: string;
      'meta-type': 'command';
      'arg-type': string;
      'ret-type': string;
      'allow-oob'?: boolean;
      features?: string[];
    }
  | { name: string; 'meta-type': 'event'; 'arg-type': string; features?: string[] }
  | { name: string; 'meta-type': 'builtin'; 'json-type': string }
  | {
      name: string;
      'meta-type': 'enum';
      values: string[];
      members?: { name: string; features?: string[] }[];
      features?: string[];
    }
  | { name: string; 'meta-type': 'array'; 'element-type': string }
  | {
      name: string;
      'meta-type': 'object';
      members: { name: string; type: string; default?: null; features?: string[] }[];
      tag?: string;
      variants?: { case: string; type: string }[];
      features?: string[];
    }
  | { name: string; 'meta-type': 'alternate'; members: { type: string }[]; features?: string[] };

export function queryQmpSchema(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<SchemaInfo[]> {
  return qmp.execute<SchemaInfo[]>('query-qmp-schema', undefined, options);
}
