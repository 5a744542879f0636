// Tests only: a real single-member etcd (/usr/bin/etcd, Debian's etcd-server) on 127.0.0.1 with
// free ports and a temporary data directory, started for one test file and stopped by its PID.
// The cut-off cases pause it (SIGSTOP: connections stay open, nothing answers) and resume it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from '../../poll-until.js';

export const ETCD_BINARY = '/usr/bin/etcd';

export interface EtcdProcess {
  endpoint: string;
  pid: number;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** A port the kernel just handed out and took back (free unless something takes it meanwhile). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const r = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(500) });
    return r.ok && ((await r.json()) as { health?: string }).health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcd(readyTimeoutMs = 15_000): Promise<EtcdProcess> {
  const [client, peer] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'vmhop-etcd-'));
  const endpoint = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const child: ChildProcess = spawn(
    ETCD_BINARY,
    [
      `--name=vmhop-test`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=vmhop-test=${peerUrl}`,
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT'); // a paused etcd would not act on SIGTERM
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const up = await pollUntil(
    async () => (child.exitCode !== null ? false : (await healthy(endpoint)) || undefined),
    {
      intervalMs: 100,
      deadlineMs: readyTimeoutMs,
    },
  );
  if (up !== true || pid === undefined) {
    await stop();
    throw new Error(
      `${ETCD_BINARY} did not become healthy at ${endpoint} within ${readyTimeoutMs} ms: ${stderr}`,
    );
  }
  return {
    endpoint,
    pid,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop,
  };
}
