// `vmhop completion bash` loads in a real bash and completes commands, subcommands, long
// options and option values from the command definitions.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVmhop } from './testing/run-vmhop.js';

let dir: string;
let script: string;
beforeAll(async () => {
  const r = await runVmhop('completion', 'bash');
  expect(r.exitCode).toBeUndefined();
  dir = mkdtempSync(join(tmpdir(), 'vmhop-completion-'));
  script = join(dir, 'vmhop.bash');
  writeFileSync(script, r.stdout);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What bash offers after `vmhop WORDS...` (the last word is the one being completed). */
function complete(...words: string[]): string[] {
  const line = ['vmhop', ...words];
  const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vmhop; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['--norc', '-c', program, 'bash', script, ...line], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).sort();
}

describe('vmhop completion bash', () => {
  it('registers _vmhop for vmhop when sourced', () => {
    const out = execFileSync(
      'bash',
      ['--norc', '-c', `source <(cat "$1"); complete -p vmhop`, 'bash', script],
      {
        encoding: 'utf8',
      },
    );
    expect(out.trim()).toBe('complete -o default -F _vmhop vmhop');
  });

  it('completes commands', () => {
    expect(complete('migr')).toEqual([
      'migrate',
      'migrate-getspeed',
      'migrate-postcopy',
      'migrate-setmaxdowntime',
      'migrate-setspeed',
    ]);
  });

  it('completes subcommands after global options and their values', () => {
    expect(complete('-c', 'a', '--json', 'job', '')).toEqual(
      expect.arrayContaining(['list', 'show', 'resume', 'resolve', 'abort']),
    );
  });

  it("completes a command's long options and the global ones", () => {
    expect(complete('migrate', 'web1', '--copy')).toEqual([
      '--copy-storage',
      '--copy-storage-all',
      '--copy-storage-inc',
    ]);
    expect(complete('migrate', 'web1', '--js')).toEqual(['--json']);
  });

  it("completes an option's or an argument's value from its choices", () => {
    expect(complete('migrate', 'web1', '--timeout-action', '')).toEqual(['abort', 'postcopy', 'suspend']);
    expect(complete('completion', 'b')).toEqual(['bash']);
  });

  it('completes the global options at the top', () => {
    expect(complete('--')).toEqual(expect.arrayContaining(['--connect', '--json', '--version', '--help']));
  });
});
