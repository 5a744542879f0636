// The failure matrix's oracles over two in-process agents (issue 13, section 4): exactly one
// host runs the guest's vCPUs at every sampled moment; afterwards the VM runs where the job's
// outcome says; nothing of a failed job is left on the target (QEMU, definition, journal rows
// in a running state, the RAM listener).
import net from 'node:net';
import { expect } from 'vitest';
import { pollUntil } from '../../../src/agent/poll-until.js';
import { queryStatus } from '../../../src/qmp/index.js';
import type { TestAgent } from './test-agent.js';

/** Is the VM's QEMU on this agent running its vCPUs? (no QEMU, no answer: no) */
export async function runsOn(agent: TestAgent, vm: string): Promise<boolean> {
  const qmp = agent.services.supervisor.qmpOf(vm);
  if (!qmp) return false;
  try {
    return (await queryStatus(qmp, { timeoutMs: 1_000 })).running;
  } catch {
    return false;
  }
}

/**
 * Samples both hosts every `everyMs` until stopped; `both` counts the samples where both ran
 * the vCPUs, `samples` all of them. Bounded: at most 2,400 samples (two minutes at 50 ms).
 */
export function watchRunners(a: TestAgent, b: TestAgent, vm: string, everyMs = 50) {
  let stopped = false;
  let samples = 0;
  let both = 0;
  const loop = (async () => {
    for (let i = 0; i < 2_400 && !stopped; i++) {
      const [ra, rb] = await Promise.all([runsOn(a, vm), runsOn(b, vm)]);
      samples++;
      if (ra && rb) both++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop(): Promise<{ samples: number; both: number }> {
      stopped = true;
      await loop;
      return { samples, both };
    },
  };
}

/** Where the VM runs now: 'a', 'b', 'none', or 'both' (never acceptable). */
export async function whereRuns(
  a: TestAgent,
  b: TestAgent,
  vm: string,
): Promise<'a' | 'b' | 'none' | 'both'> {
  const [ra, rb] = await Promise.all([runsOn(a, vm), runsOn(b, vm)]);
  return ra && rb ? 'both' : ra ? 'a' : rb ? 'b' : 'none';
}

/** The RAM listener (address and port) the target's journal names for the job, if it got that far. */
export function listener(b: TestAgent, jobId: string): { host: string; port: number } | undefined {
  const line = b.services.jobStore
    .journalOf(jobId)
    .map((l) => l.entry)
    .find((e) => e.startsWith('listening on '));
  const m = /^listening on (.+):(\d+) /.exec(line ?? '');
  const port = Number(m?.[2]);
  return m && Number.isInteger(port) && port > 0 ? { host: m[1]!, port } : undefined;
}

async function portRefuses({ host, port }: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** Nothing of job `jobId` is left on the target: no QEMU, no definition of `vm`, no running job, no listener. */
export async function expectTargetClean(b: TestAgent, jobId: string, vm: string): Promise<void> {
  const job = b.services.jobStore.find(jobId);
  if (job) expect(job.state, `target job ${jobId}`).not.toBe('running');
  expect(b.services.vmStore.get(vm), `VM ${vm} on the target`).toBeUndefined();
  expect(b.qemuPids(), 'QEMUs on the target').toEqual([]);
  const at = listener(b, jobId);
  if (at) expect(await portRefuses(at), `RAM listener ${at.host}:${at.port}`).toBe(true);
  expect(b.services.jobStore.artifacts(jobId), 'artifacts of the job on the target').toEqual([]);
  expect(
    b.services.jobStore.running().map((j) => j.id),
    'running jobs on the target',
  ).toEqual([]);
}

/** Polls `ok` every 50 ms for up to `timeoutMs` (the agent's pollUntil); resolves with the time it took. */
export async function within(ok: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const t0 = Date.now();
  const met = await pollUntil(async () => ((await ok()) ? true : undefined), {
    intervalMs: 50,
    deadlineMs: timeoutMs,
  });
  if (!met) throw new Error(`${what}: not within ${timeoutMs} ms`);
  return Date.now() - t0;
}
