// The test bed's etcd (`up --etcd`, issue 17's cluster mode): one member in namespace
// vmhop-etcd on the management bridge, plain HTTP, data and log under STATE_DIR. Started
// detached like the agents and recorded by PID; `down` ends it and its namespace goes with
// the others. The agents' side of cluster mode is theirs: this only gives them an etcd.
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { VmhopError } from '../protocol/errors.js';
import { isAlive, killAndWait } from '../agent/process/signals.js';
import { pollUntil } from '../agent/poll-until.js';
import { ensureEtcdNetwork } from './network.js';
import { ETCD_BINARY, etcdArgv, type EtcdPlan } from './plan.js';

/** How long a fresh single-member etcd may take to elect itself and answer /health. */
export const ETCD_READY_TIMEOUT_MS = 15_000;

/** Whether etcd answers `GET /health` with {"health":"true"}; false on any error. */
export async function etcdHealthy(p: EtcdPlan, timeoutMs = 1_000): Promise<boolean> {
  try {
    const r = await fetch(`${p.clientUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await r.json()) as { health?: unknown };
    return r.ok && body.health === 'true';
  } catch {
    return false;
  }
}

/** Starts etcd unless `knownPid` still runs; returns its pid once it answers. */
export async function startEtcd(p: EtcdPlan, knownPid: number | undefined): Promise<number> {
  if (knownPid !== undefined && isAlive(knownPid)) return knownPid;
  if (!existsSync(ETCD_BINARY)) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `\`--etcd\` needs etcd, and ${ETCD_BINARY} is missing: run scripts/setup.sh, or \`apt-get install etcd-server etcd-client\``,
      { binary: ETCD_BINARY },
    );
  }
  await ensureEtcdNetwork(p);
  await mkdir(p.dataDir, { recursive: true, mode: 0o700 });
  const log = openSync(p.logFile, 'a');
  const [file, ...args] = etcdArgv(p);
  const child = spawn('nsenter', [`--net=/run/netns/${p.netns}`, '--', file as string, ...args], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  const pid = child.pid as number;
  const ready = await pollUntil(
    async () => {
      if (!isAlive(pid)) return 'exited' as const;
      return (await etcdHealthy(p)) ? ('healthy' as const) : undefined;
    },
    { intervalMs: 100, deadlineMs: ETCD_READY_TIMEOUT_MS },
  );
  if (ready !== 'healthy') {
    // Ours and useless: end it, so a retried `up` starts afresh rather than racing it.
    await killAndWait(pid);
    throw new VmhopError(
      'VMHOP_ERR_TIMEOUT',
      `the test bed's etcd (pid ${pid}) ${ready === 'exited' ? 'exited' : `did not answer ${p.clientUrl}/health within ${ETCD_READY_TIMEOUT_MS / 1000} s`}; see ${p.logFile}`,
      { pid, clientUrl: p.clientUrl, log: p.logFile },
    );
  }
  return pid;
}
