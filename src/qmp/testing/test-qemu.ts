// Starts a real qemu-system-x86_64 for QMP integration tests and transcript recording: TCG, no
// default devices, no display, a QMP unix socket in a fresh temp dir. It owns exactly the process
// it spawned and kills only that pid; stop() is safe to call twice and from afterEach after a failure.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const qemuBinary = 'qemu-system-x86_64';

export const baseQemuArgs = [
  '-machine',
  'q35',
  '-accel',
  'tcg',
  '-nodefaults',
  '-display',
  'none',
  '-m',
  '64',
];

export function qemuAvailable(): boolean {
  return spawnSync(qemuBinary, ['--version'], { stdio: 'ignore' }).status === 0;
}

export function qemuVersionText(binary = qemuBinary): string {
  return spawnSync(binary, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
}

/**
 * Debian 12's QEMU 7.2 as scripts/qemu-7.2.sh unpacks it beside the installed QEMU, or undefined
 * when it is not there: tests of what 7.2 does differently run only where it is.
 */
export function qemu72Binary(): string | undefined {
  const wrapper = fileURLToPath(new URL('../../../.cache/qemu-7.2/qemu-system-x86_64', import.meta.url));
  return existsSync(wrapper) && /version 7\.2\./.test(qemuVersionText(wrapper)) ? wrapper : undefined;
}

export interface TestQemuOptions {
  /** Start with vCPUs stopped (-S). */
  paused?: boolean;
  /** Start as a migration target waiting for migrate-incoming. */
  incomingDefer?: boolean;
  extraArgs?: string[];
  /** Reuse a directory (for files shared between two QEMUs); by default a fresh temp dir. */
  dir?: string;
  name?: string;
  /** Another QEMU than the installed one, e.g. qemu72Binary(). */
  binary?: string;
}

export interface TestQemu {
  readonly dir: string;
  readonly qmpPath: string;
  readonly argv: string[];
  readonly child: ChildProcess;
  /** Resolves with the exit code or signal once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  stop(): Promise<void>;
}

export function startTestQemu(options: TestQemuOptions = {}): TestQemu {
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'vmhop-qemu-'));
  const qmpPath = join(dir, `${options.name ?? 'qemu'}.qmp`);
  const argv = [
    ...baseQemuArgs,
    ...(options.paused ? ['-S'] : []),
    ...(options.incomingDefer ? ['-incoming', 'defer'] : []),
    ...(options.extraArgs ?? []),
    '-qmp',
    `unix:${qmpPath},server=on,wait=off`,
  ];
  const binary = options.binary ?? qemuBinary;
  const child = spawn(binary, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      stderr += `cannot start ${binary}: ${error.message}\n`;
      resolve({ code: null, signal: null });
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
  };
  return { dir, qmpPath, argv: [binary, ...argv], child, exited, stderr: () => stderr, stop };
}
