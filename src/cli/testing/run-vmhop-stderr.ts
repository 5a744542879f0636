// `vmhop ARGS` in-process (runVmhop) with process.stderr captured too: where progress lines go.
import { vi } from 'vitest';
import { runVmhop, type VmhopRun } from './run-vmhop.js';

export async function runVmhopWithStderr(...args: string[]): Promise<VmhopRun & { stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { ...(await runVmhop(...args)), stderr };
  } finally {
    spy.mockRestore();
  }
}
