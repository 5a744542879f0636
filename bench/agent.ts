// Benchmark: the agent's idle memory and `list` latency with 50 defined VMs.
// Runs a real vmhop-agent (built, in dist/) on loopback with a throwaway data dir.
// Usage: npm run bench -- agent   (prints a JSON report and a summary)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { AGENT_NODE_FLAGS } from '../src/agent/node-flags.js';
import { REPO_ROOT } from '../src/repo/paths.js';

const PORT = 18555;
const URL_BASE = `http://127.0.0.1:${PORT}`;

const statusKiB = (pid: number, field: 'VmRSS' | 'RssAnon' | 'RssFile') =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const rssKiB = (pid: number) => statusKiB(pid, 'VmRSS');
/**
 * RSS split: anonymous pages (heaps, what the agent's code allocates) and file pages (the node
 * binary and native addons, shared with every other node process): a bare node is ~35 MiB of
 * file pages, so an RSS target has to be read against the anonymous part.
 */
const split = (pid: number) => ({
  anonMiB: +(statusKiB(pid, 'RssAnon') / 1024).toFixed(1),
  fileMiB: +(statusKiB(pid, 'RssFile') / 1024).toFixed(1),
});
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? 0;

async function call(method: 'GET' | 'POST', path: string, body?: unknown) {
  const r = await request(`${URL_BASE}${path}`, {
    method,
    ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  const text = await r.body.text();
  if (r.statusCode >= 400) throw new Error(`${method} ${path}: ${r.statusCode} ${text}`);
  return text;
}

export async function benchAgent(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'vmhop-bench-'));
  const agent = spawn(
    process.execPath,
    [
      // As the agent is started for real (test bed, systemd unit); BENCH_AGENT_NODE_FLAGS=none without.
      ...(process.env.BENCH_AGENT_NODE_FLAGS === 'none' ? [] : AGENT_NODE_FLAGS),
      join(REPO_ROOT, 'dist/src/agent/main.js'),
      'run',
      '--name',
      'bench',
      '--listen',
      `127.0.0.1:${PORT}`,
      '--data-dir',
      `${dir}/data`,
      '--run-dir',
      `${dir}/run`,
      '--insecure',
    ],
    { stdio: 'ignore' },
  );
  try {
    for (let i = 0; i < 100; i++) {
      if (agent.exitCode !== null) throw new Error(`the agent exited with ${agent.exitCode}`);
      if (
        await call('GET', '/health').then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 2_000));
    const idleRss = rssKiB(agent.pid!);
    const idle = split(agent.pid!);
    for (let i = 0; i < 50; i++) {
      await call('POST', '/v1/vms', {
        spec: {
          name: `bench${i}`,
          uuid: randomUUID(),
          memoryMiB: 128,
          // Defined, never started: any name in the data directory (an allowed boot directory) does.
          boot: { kind: 'kernel', kernel: `${dir}/data/vmlinuz` },
        },
      });
    }
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const t = process.hrtime.bigint();
      await call('GET', '/v1/vms');
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const afterRss = rssKiB(agent.pid!);
    return {
      idleRssMiB: +(idleRss / 1024).toFixed(1),
      idleAnonMiB: idle.anonMiB,
      idleFileMiB: idle.fileMiB,
      rssWith50VmsAfter300ListsMiB: +(afterRss / 1024).toFixed(1),
      listP50Ms: +pct(times, 50).toFixed(2),
      listP95Ms: +pct(times, 95).toFixed(2),
      listMaxMs: +Math.max(...times).toFixed(2),
    };
  } finally {
    if (agent.exitCode === null) {
      const exited = new Promise((r) => agent.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
