// isAlive and killAndWait on real processes: a zombie (exited, not reaped) counts as gone, so
// retiring a QEMU does not wait for its parent to reap it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, killAndWait } from './signals.js';

const started: number[] = [];
afterEach(async () => {
  for (const pid of started.splice(0)) await killAndWait(pid, 500);
});

/** A `sleep 30` whose child `sleep 0` exits and is never reaped: returns the zombie's pid. */
async function zombie(): Promise<number> {
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  started.push(parent.pid!);
  const pid = await new Promise<number>((resolve) =>
    parent.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))),
  );
  for (let i = 0; i < 100; i++) {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    if (state === 'Z') return pid;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`process ${pid} did not become a zombie`);
}

describe('isAlive', () => {
  it('is true for a running process and false once it is a zombie', async () => {
    const pid = await zombie();
    expect(isAlive(started[0]!)).toBe(true);
    expect(isAlive(pid)).toBe(false);
  });

  it('has killAndWait take a zombie for gone: nothing is signalled, nothing waited for', async () => {
    const pid = await zombie();
    expect(await killAndWait(pid, 3_000)).toBe(false);
  });
});
