// Ending processes we started, by PID: SIGTERM, a bounded wait, then SIGKILL.
// Never by name: other people's processes on this machine are not ours.
import { setTimeout as delay } from 'node:timers/promises';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
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
