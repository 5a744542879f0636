#!/usr/bin/env node
// The `vmhop` command: virsh-like verbs. Each verb lives in verbs/; output/ formats
// results (tables or --json) and maps error codes to exit codes.
import { Command } from 'commander';
import { testbedCommand } from './verbs/testbed.js';

const program = new Command('vmhop')
  .description('move QEMU/KVM virtual machines between hosts')
  .option('--json', 'print exactly one JSON document on stdout')
  .showHelpAfterError();

program.addCommand(testbedCommand());

await program.parseAsync(process.argv);
