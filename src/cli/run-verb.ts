// Wraps a verb's action: finds the global options (--json), runs it, and turns any
// error into the documented exit code. Verbs throw VmhopError; they never call exit.
import type { Command } from 'commander';
import { reportError, type OutputOptions } from '../terminal/emit.js';

export function runVerb<F>(action: (flags: F, opts: OutputOptions, cmd: Command) => Promise<void>) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const flags = cmd.opts() as F;
    const globals = cmd.optsWithGlobals() as OutputOptions;
    try {
      await action(flags, globals, cmd);
    } catch (e) {
      process.exitCode = reportError(e, globals.json === true);
    }
  };
}
