// Runs the real `vmhop` command tree in-process for tests: commander's own text through the
// program's sink, and what verbs and errors write on stdout captured at the process boundary.
import { vi } from 'vitest';
import { buildProgram } from '../program.js';
import { parseCommandLine } from '../usage-errors.js';

export interface VmhopRun {
  /** commander's stdout (help, --version) */
  out: string;
  /** commander's stderr (its error text and the help after it) */
  err: string;
  /** process.stdout: results and --json documents */
  stdout: string;
  exitCode: number | string | undefined;
}

/** Runs `vmhop ARGS...`; leaves process.exitCode as it found it. */
export async function runVmhop(...args: string[]): Promise<VmhopRun> {
  const seen = { out: '', err: '', stdout: '' };
  const before = process.exitCode;
  process.exitCode = undefined;
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    seen.stdout += String(chunk);
    return true;
  });
  try {
    const program = buildProgram({ writeOut: (s) => (seen.out += s), writeErr: (s) => (seen.err += s) });
    await parseCommandLine(program, args, { from: 'user' });
    return { ...seen, exitCode: process.exitCode };
  } finally {
    write.mockRestore();
    process.exitCode = before;
  }
}
