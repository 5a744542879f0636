#!/usr/bin/env node
// The `vmhop` command: virsh-like verbs. program.ts defines them (one file per verb in verbs/);
// output/ formats results (tables or --json) and maps error codes to exit codes.
import { buildProgram } from './program.js';
import { parseCommandLine } from './usage-errors.js';

await parseCommandLine(buildProgram(), process.argv);
