// What a QEMU binary offers: query-version, query-machines, query-cpu-definitions. Pre-flight
// compares these between source and target (same machine type available, CPU model usable
// without missing features) before anything moves.

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
