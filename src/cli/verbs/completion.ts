// `vmhop completion bash`: prints the completion script built from the command definitions;
// load it with `source <(vmhop completion bash)` or save it in bash-completion's directory.
import { Argument, type Command } from 'commander';
import { bashCompletion } from '../completion.js';
import { emit } from '../../terminal/emit.js';
import { runVerb } from '../run-verb.js';

export function registerCompletionVerb(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(vmhop completion bash)')
    .addArgument(new Argument('<shell>', 'the shell to complete in').choices(['bash']))
    .action(
      runVerb(async (_f, g) => {
        emit(g, { shell: 'bash', script: bashCompletion(program) }, (r) => r.script);
      }),
    );
}
