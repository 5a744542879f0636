// Runs the system tools the test bed is made of (ip, tc, mount, nsenter) and turns a
// non-zero exit into a VmhopError that keeps the command line and its stderr.
// Arguments are always an argv array: nothing here goes through a shell.
import { execa } from 'execa';
import { VmhopError } from '../protocol/errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function run(
  file: string,
  args: readonly string[],
  opts: { allowFail?: boolean; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  const r = await execa(file, args, {
    reject: false,
    timeout: opts.timeoutMs ?? 30_000,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
  });
  const exitCode = r.exitCode ?? -1;
  if (exitCode !== 0 && !opts.allowFail) {
    throw new VmhopError(
      'VMHOP_ERR_COMMAND_FAILED',
      `\`${[file, ...args].join(' ')}\` failed (exit ${exitCode}${r.timedOut ? ', timed out' : ''}): ${r.stderr.trim() || r.stdout.trim()}`,
      { command: [file, ...args], exitCode, stderr: r.stderr },
    );
  }
  return { stdout: r.stdout, stderr: r.stderr, exitCode };
}

/** True when the command exits 0; for existence probes such as `ip link show X`. */
export async function succeeds(file: string, args: readonly string[]): Promise<boolean> {
  return (await run(file, args, { allowFail: true })).exitCode === 0;
}
