// A QmpError as the rest of vmhop reports errors: VMHOP_ERR_QMP with the command, its
// arguments (bounded), QEMU's error class and text, so a job report or an API answer says
// which step QEMU refused and why, never VMHOP_ERR_INTERNAL with empty details.
import { VmhopError } from '../protocol/errors.js';
import { isQmpError, type QmpError } from './errors.js';

/** Arguments as they go into details: as they are when short, else a bounded JSON preview. */
function boundedArguments(args: QmpError['arguments']): unknown {
  if (args === undefined) return undefined;
  let text: string;
  try {
    text = JSON.stringify(args);
  } catch {
    return '(not serialisable)';
  }
  return text.length <= 2_000 ? args : `${text.slice(0, 2_000)}… (${text.length} chars)`;
}

export function qmpAsVmhopError(e: QmpError): VmhopError {
  return new VmhopError(
    'VMHOP_ERR_QMP',
    e.message,
    {
      qmpCode: e.code,
      ...(e.command ? { command: e.command } : {}),
      ...(e.arguments ? { arguments: boundedArguments(e.arguments) } : {}),
      ...(e.errorClass ? { errorClass: e.errorClass } : {}),
      ...(e.desc ? { desc: e.desc } : {}),
    },
    e,
  );
}

/** `e` as a VmhopError when it is a QmpError; undefined otherwise. */
export function fromQmp(e: unknown): VmhopError | undefined {
  return isQmpError(e) ? qmpAsVmhopError(e) : undefined;
}
