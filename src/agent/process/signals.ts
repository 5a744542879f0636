// Ending processes we started, by PID: SIGTERM, a bounded wait, then SIGKILL.
// Never by name: other people's processes on this machine are not ours.
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Whether `pid` still runs. A zombie (exited, not yet reaped by its parent) counts as gone:
 * it runs nothing and holds no file, and its PID cannot be reused until it is reaped. Waiting
 * for the reap cost 1.2-2.1 s after every QEMU `quit` (issue 14).
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ...: comm may hold spaces and parentheses, the state follows the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

/** Returns true if the process existed. Waits at most `graceMs` after SIGTERM, 2 s after SIGKILL. */
export async function killAndWait(pid: number, graceMs = 3_000): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return false;
  const waitGone = async (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      if (!isAlive(pid)) return true;
      await delay(50);
    }
    return !isAlive(pid);
  };
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return true;
  }
  if (await waitGone(graceMs)) return true;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return true;
  }
  await waitGone(2_000);
  return true;
}
