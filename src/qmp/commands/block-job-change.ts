// block-job-change (QEMU 8.2+): changes a running job's options. vmhop uses it for one thing:
// switching a mirror that cannot keep up with the guest's writes from background to
// write-blocking copy mode (block-core.json: JobChangeOptionsMirror). QEMU 7.2 lacks the command
// and answers CommandNotFound.
import type { QmpCommandOptions, QmpExecutor } from '../session.js';

export async function blockJobChange(
  qmp: QmpExecutor,
  args: { id: string; type: 'mirror'; 'copy-mode': 'background' | 'write-blocking' },
  options?: QmpCommandOptions,
): Promise<void> {
  await qmp.execute('block-job-change', { ...args }, options);
}
