// Runs the real `vmhop` CLI (the built one, as an administrator would) with --json and
// returns the parsed document; a failing verb returns its {error} document and exit code.
import { execa } from 'execa';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../src/repo/paths.js';

const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult<T> {
  exitCode: number;
  json: T;
  stderr: string;
}

export async function vmhop<T = Record<string, unknown>>(
  args: string[],
  timeoutMs = 120_000,
): Promise<CliResult<T>> {
  const r = await execa(process.execPath, [CLI, '--json', ...args], { reject: false, timeout: timeoutMs });
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`vmhop ${args.join(' ')} printed no JSON (exit ${r.exitCode}): ${r.stdout}\n${r.stderr}`);
  }
  return { exitCode: r.exitCode ?? -1, json, stderr: r.stderr };
}

/** Like vmhop(), but a non-zero exit fails the test with the CLI's error. */
export async function vmhopOk<T = Record<string, unknown>>(args: string[], timeoutMs?: number): Promise<T> {
  const r = await vmhop<T>(args, timeoutMs);
  if (r.exitCode !== 0)
    throw new Error(`vmhop ${args.join(' ')} failed (${r.exitCode}): ${JSON.stringify(r.json)}`);
  return r.json;
}

/** Test clean-up: the VM destroyed and undefined on every host, then the named volumes deleted (all best effort). */
export async function removeVmEverywhere(
  vm: string,
  volumes: { host: string; volume: string }[] = [],
  hosts = ['a', 'b'],
) {
  for (const h of hosts) {
    await vmhop(['-c', h, 'destroy', vm, '--force']);
    await vmhop(['-c', h, 'undefine', vm]);
  }
  for (const v of volumes) await vmhop(['-c', v.host, 'vol-delete', v.volume]);
}

/** The VM's state on each test-bed host that has it defined, e.g. { b: 'running', a: 'moved' }. */
export async function vmStates(vm: string, hosts = ['a', 'b']): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of hosts) {
    const { vms } = await vmhopOk<{ vms: { name: string; state: string }[] }>(['-c', h, 'list']);
    const v = vms.find((x) => x.name === vm);
    if (v) out[h] = v.state;
  }
  return out;
}
