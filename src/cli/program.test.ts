// The `vmhop` program as an administrator meets it before any agent is asked: --version, and
// argument errors that exit 2 and, with --json, print the one {"error": ...} document on stdout.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runVmhop } from './testing/run-vmhop.js';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('vmhop --version', () => {
  it.each(['--version', '-V'])('%s prints the version of package.json and exits 0', async (flag) => {
    const r = await runVmhop(flag);
    expect(r.out).toBe(`${packageJson.version}\n`);
    expect(r.exitCode).toBe(0);
  });
});

describe('argument errors', () => {
  it.each([
    [['migrate', 'web1', '--to', 'b', '--live', '--bogus'], "unknown option '--bogus'"],
    [['dominfo'], "missing required argument 'name'"],
    [['migrate', 'web1', '--live'], "required option '--to <host>' not specified"],
    [['migrate', 'web1', '--to'], "option '--to <host>' argument missing"],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['dominfo', 'web1', 'web2'], 'too many arguments'],
  ])('%j exits 2 with commander text on stderr', async (args, text) => {
    const r = await runVmhop(...args);
    expect(r.exitCode).toBe(2);
    expect(r.err).toContain(text);
    expect(r.stdout).toBe('');
  });

  it('exits 2 when no command is given, with the help on stderr', async () => {
    const r = await runVmhop();
    expect(r.exitCode).toBe(2);
    expect(r.err).toContain('Usage: vmhop');
  });

  it.each([
    [['--json', 'migrate', 'web1', '--to', 'b', '--live', '--bogus'], "unknown option '--bogus'"],
    [['migrate', 'web1', '--json', '--live'], "required option '--to <host>' not specified"],
    [['--json', 'frobnicate'], "unknown command 'frobnicate'"],
    [['--json'], 'say which command to run: --help lists them'],
  ])('with --json, %j prints the VMHOP_ERR_USAGE document on stdout only', async (args, message) => {
    const r = await runVmhop(...args);
    expect(r.exitCode).toBe(2);
    expect(r.err).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      error: { code: 'VMHOP_ERR_USAGE', message, details: { commanderCode: expect.any(String) as string } },
    });
  });

  it('--help still exits 0', async () => {
    const r = await runVmhop('migrate', '--help');
    expect(r.exitCode).toBe(0);
    expect(r.out).toContain('Usage: vmhop migrate');
  });
});
