// Talks to a test guest's control service from the test bed's `client` namespace,
// as a user on the LAN would, through scripts/guest-probe.mjs run under nsenter.
import { execa } from 'execa';
import { VmhopError } from '../protocol/errors.js';
import { runInNetns } from './host-exec.js';
import { GUEST_PORT } from './guest.js';
import { GUEST_PROBE } from '../repo/paths.js';
import { CLIENT_NETNS } from './plan.js';

async function probe(args: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  const r = await runInNetns(CLIENT_NETNS, [process.execPath, GUEST_PROBE, ...args], {
    allowFail: true,
    timeoutMs: timeoutMs + 5_000,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new VmhopError(
      'VMHOP_ERR_COMMAND_FAILED',
      `guest probe ${args.join(' ')} failed: ${r.stderr.trim()}`,
      {
        args,
        stderr: r.stderr,
      },
    );
  }
}

/** Sends one control command (`status`, `mem-verify`, ...) and returns the reply object. */
export function guestCommand(ip: string, command: string, timeoutMs = 60_000) {
  return probe(['cmd', ip, String(GUEST_PORT), command, String(timeoutMs)], timeoutMs);
}

/** Waits until the guest's service answers; `ok: false` after `timeoutMs`. */
export async function waitForGuest(
  ip: string,
  timeoutMs = 60_000,
): Promise<{ ok: boolean; waitedMs: number }> {
  return (await probe(['wait', ip, String(GUEST_PORT), String(timeoutMs)], timeoutMs)) as {
    ok: boolean;
    waitedMs: number;
  };
}

export interface GapReport {
  sent: number;
  ok: number;
  maxGapMs: number;
  /** When the longest gap ended (epoch ms). */
  gapEndedAt: number;
  lastTick: number;
  tickWentBackwards: boolean;
}

/** Pings the guest for `durationMs` and reports the longest time without a reply. */
export async function measureGaps(ip: string, durationMs: number, intervalMs = 20): Promise<GapReport> {
  return (await probe(
    ['gaps', ip, String(GUEST_PORT), String(durationMs), String(intervalMs)],
    durationMs,
  )) as unknown as GapReport;
}

/** Pings the guest from the client until stop() (at most `maxMs`), then reports the longest gap. */
export function startGapProbe(ip: string, maxMs = 600_000, intervalMs = 20) {
  const child = execa(
    'nsenter',
    [
      `--net=/run/netns/${CLIENT_NETNS}`,
      '--',
      process.execPath,
      GUEST_PROBE,
      'gaps',
      ip,
      String(GUEST_PORT),
      String(maxMs),
      String(intervalMs),
    ],
    {
      reject: false,
      timeout: maxMs + 10_000,
    },
  );
  return {
    async stop(): Promise<GapReport> {
      child.kill('SIGTERM');
      const r = await child;
      return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as GapReport;
    },
  };
}
