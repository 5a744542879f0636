// Commander's own argument errors (unknown option or command, missing argument or option, a value
// outside its choices) as VMHOP_ERR_USAGE: exit 2 as the README's table says, not commander's 1,
// and with --json the same {"error": ...} document on stdout as every other error.
import { CommanderError, type Command, type ParseOptions } from 'commander';
import { errorCatalogue, VmhopError } from '../protocol/errors.js';
import { reportError } from '../terminal/emit.js';

/** Where commander writes help, the version and its error text. */
export interface Sink {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

const stdio: Sink = {
  writeOut: (text) => void process.stdout.write(text),
  writeErr: (text) => void process.stderr.write(text),
};

/**
 * Makes every command of the tree throw its argument errors instead of exiting, and keeps
 * commander's error text (and the help after it) off stderr under --json, where the JSON
 * document says it. Run after every verb is registered: subcommands do not inherit it later.
 */
export function routeUsageErrors(program: Command, sink: Sink = stdio): Command {
  const json = () => program.opts().json === true;
  const visit = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({
      writeOut: sink.writeOut,
      writeErr: (text) => {
        if (!json()) sink.writeErr(text);
      },
    });
    cmd.commands.forEach(visit);
  };
  visit(program);
  return program;
}

/** Parses argv and runs the verb; an argument error sets exit code 2 (and prints JSON with --json). */
export async function parseCommandLine(
  program: Command,
  argv: readonly string[],
  options?: ParseOptions,
): Promise<void> {
  try {
    await program.parseAsync(argv, options);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    process.exitCode = exitOfCommanderError(e, program.opts().json === true);
  }
}

function exitOfCommanderError(e: CommanderError, json: boolean): number {
  // --help and --version end this way too, with commander's exit code 0.
  if (e.exitCode === 0) return 0;
  const message =
    e.code === 'commander.help'
      ? 'say which command to run: --help lists them'
      : e.message.replace(/^error: /, '');
  const err = new VmhopError('VMHOP_ERR_USAGE', message, { commanderCode: e.code });
  // Without --json commander already printed its message and the help on stderr.
  return json ? reportError(err, true) : errorCatalogue.VMHOP_ERR_USAGE.exit;
}
