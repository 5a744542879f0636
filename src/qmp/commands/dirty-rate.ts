// Guest dirty-page rate measurement (calc-dirty-rate, query-dirty-rate), the input of a migration
// ETA before RAM copying starts. calc-dirty-rate returns at once; poll query-dirty-rate until
// `measured`. On QEMU 7.2 under TCG use the default `page-sampling` mode: `dirty-bitmap` crashes
// QEMU 7.2 (SIGSEGV) and `dirty-ring` needs KVM.

import type { QmpCommandOptions, QmpExecutor } from '../session.js';

export type DirtyRateMeasureMode = 'page-sampling' | 'dirty-ring' | 'dirty-bitmap';
export type DirtyRateStatus = 'unstarted' | 'measuring' | 'measured';

export type CalcDirtyRateArgs = {
  /** Seconds to measure over. */
  'calc-time': number;
  'sample-pages'?: number;
  mode?: DirtyRateMeasureMode;
};

export type DirtyRateInfo = {
  /** MiB per second; present once `measured`. */
  'dirty-rate'?: number;
  status: DirtyRateStatus;
  /** Seconds since QEMU booted when the measurement started. */
  'start-time': number;
  'calc-time': number;
  'sample-pages': number;
  mode: DirtyRateMeasureMode;
  'vcpu-dirty-rate'?: { id: number; 'dirty-rate': number }[];
};

export async function calcDirtyRate(
  qmp: QmpExecutor,
  args: CalcDirtyRateArgs,
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('calc-dirty-rate', { ...args }, options);
}

export function queryDirtyRate(qmp: QmpExecutor, options?: QmpCommandOptions): Promise<DirtyRateInfo> {
  return qmp.execute<DirtyRateInfo>('query-dirty-rate', undefined, options);
}
