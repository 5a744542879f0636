// A vmhop-agent on every test-bed host: a cluster CA for the test bed, a certificate per
// host, one client token, the agent started detached inside the host's namespaces, and
// the CLI's hosts file pointed at them, so `vmhop -c a ...` works once `up` returns.
import { randomBytes } from 'node:crypto';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { initCa, issueHostCert } from '../credentials/ca.js';
import { hashToken } from '../credentials/token-hash.js';
import { AGENT_NODE_FLAGS } from '../agent/node-flags.js';
import { isAlive } from '../agent/process/signals.js';
import { VmhopError } from '../protocol/errors.js';
import { AgentClient } from '../client/agent-client.js';
import { readHostsFile, writeHostsFile } from '../client/hosts-file.js';
import { nsenterArgs } from './host-exec.js';
import { HOST_DATA_DIR, HOST_RUN_DIR, STATE_DIR, hostPlan, type HostPlan } from './plan.js';
import { REPO_ROOT } from '../repo/paths.js';
import { readState, type TestbedState } from './state.js';

export const AGENT_PORT = 8443;
export const TESTBED_CA_DIR = `${STATE_DIR}/ca`;
/** The agent of the vmhop build at `root` (a checkout with its dist/ built); this one by default. */
export const agentMainOf = (root: string = REPO_ROOT) => join(root, 'dist', 'src', 'agent', 'main.js');

export const agentUrl = (h: HostPlan) => `https://${h.mgmtAddress}:${AGENT_PORT}`;

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Embedded mode: every other host in `peers`. Cluster mode (`up --etcd`): the etcd, and no
 * peers, since agents find each other there; a short lease so tests see a lost host in seconds.
 */
export function clusterConfig(
  h: HostPlan,
  all: HostPlan[],
  etcd: TestbedState['etcd'],
): { peers: Record<string, string>; cluster?: { etcd: { endpoints: string[]; leaseTtlSeconds: number } } } {
  if (etcd) return { peers: {}, cluster: { etcd: { endpoints: [etcd.clientUrl], leaseTtlSeconds: 5 } } };
  return {
    peers: Object.fromEntries(all.filter((p) => p.name !== h.name).map((p) => [p.name, agentUrl(p)])),
  };
}

async function writeAgentConfig(
  h: HostPlan,
  all: HostPlan[],
  token: string,
  state: Pick<TestbedState, 'qemuBinary' | 'etcd'>,
): Promise<void> {
  const tlsDir = `${HOST_DATA_DIR}/tls`;
  await issueHostCert(TESTBED_CA_DIR, `${h.backingData}/tls`, h.name, {
    ips: [h.mgmtAddress, h.migrationAddress],
  });
  const config = {
    name: h.name,
    listen: `${h.mgmtAddress}:${AGENT_PORT}`,
    dataDir: HOST_DATA_DIR,
    runDir: HOST_RUN_DIR,
    migrationAddress: h.migrationAddress,
    tls: {
      cert: `${tlsDir}/server-cert.pem`,
      key: `${tlsDir}/server-key.pem`,
      ca: `${tlsDir}/ca-cert.pem`,
      dir: tlsDir,
    },
    tokenHashes: [hashToken(token)],
    ...clusterConfig(h, all, state.etcd),
    // The test guest's kernels; the shared pool (/srv) and the data directory are allowed by default.
    allowedBootDirs: [join(REPO_ROOT, '.cache', 'guest')],
    accel: 'tcg',
    observerMonitor: true,
    ...(state.qemuBinary ? { qemuBinary: state.qemuBinary } : {}),
  };
  await writeFile(`${h.backingData}/agent.json`, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
}

async function waitHealthy(h: HostPlan, pid: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  const { Agent, request } = await import('undici');
  const { readFileSync } = await import('node:fs');
  const dispatcher = new Agent({ connect: { ca: readFileSync(`${TESTBED_CA_DIR}/ca-cert.pem`) } });
  try {
    while (Date.now() < until) {
      if (!isAlive(pid)) break;
      try {
        const r = await request(`${agentUrl(h)}/health`, { dispatcher });
        await r.body.text();
        if (r.statusCode === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await dispatcher.close();
  }
  throw new VmhopError(
    'VMHOP_ERR_TIMEOUT',
    `the agent on test-bed host ${h.name} did not become healthy; see ${h.backingRun}/agent.log`,
    {
      host: h.name,
    },
  );
}

/** Starts the agent of `h` (from the build at `buildRoot`, this one by default) unless it runs; returns its pid. */
export async function startAgent(
  h: HostPlan,
  all: HostPlan[],
  state: TestbedState,
  token: string,
  buildRoot?: string,
): Promise<number> {
  const known = state.processes.find((p) => p.host === h.name && p.what === 'agent');
  if (known && isAlive(known.pid)) return known.pid;
  const main = agentMainOf(buildRoot);
  if (!existsSync(main)) {
    throw new VmhopError(
      'VMHOP_ERR_USAGE',
      `the agent is not built (${main} is missing): run \`npm run build\`${buildRoot ? ` in ${buildRoot}` : ''}`,
      {},
    );
  }
  await initCa(TESTBED_CA_DIR, 'vmhop test bed CA');
  await mkdir(h.backingRun, { recursive: true });
  await writeAgentConfig(h, all, token, state);
  const log = openSync(`${h.backingRun}/agent.log`, 'a');
  const child = spawn(
    'nsenter',
    [
      ...nsenterArgs(h),
      process.execPath,
      ...AGENT_NODE_FLAGS,
      main,
      'run',
      '--config',
      `${HOST_DATA_DIR}/agent.json`,
    ],
    {
      detached: true,
      stdio: ['ignore', log, log],
    },
  );
  closeSync(log);
  child.unref();
  const pid = child.pid as number;
  await waitHealthy(h, pid, 20_000);
  return pid;
}

/** Defines the shared pool on the agent of `h` unless it has it (a fresh registry has only `default`). */
export async function ensureSharedPool(h: HostPlan, token: string, sharedPath: string): Promise<void> {
  const client = new AgentClient({
    name: h.name,
    url: agentUrl(h),
    token,
    ca: `${TESTBED_CA_DIR}/ca-cert.pem`,
  });
  try {
    const { pools } = await client.call<{ pools: { name: string }[] }>('GET', '/v1/pools');
    if (!pools.some((p) => p.name === 'shared')) {
      await client.call('POST', '/v1/pools', { name: 'shared', kind: 'shared', path: sharedPath });
    }
  } finally {
    await client.close();
  }
}

/** Points the CLI's hosts file at the test-bed agents (other entries are kept). */
export function writeTestbedConnections(plans: HostPlan[], token: string): void {
  const file = readHostsFile();
  for (const h of plans)
    file.hosts[h.name] = { url: agentUrl(h), token, ca: `${TESTBED_CA_DIR}/ca-cert.pem` };
  file.default ??= plans[0]?.name;
  writeHostsFile(file);
}

export function removeTestbedConnections(plans: HostPlan[]): void {
  const file = readHostsFile();
  for (const h of plans) if (file.hosts[h.name]?.url === agentUrl(h)) delete file.hosts[h.name];
  if (file.default && !file.hosts[file.default]) delete file.default;
  writeHostsFile(file);
}

/** A client of the agent on test-bed host `name`, with the token the test bed gave them all. */
export async function testbedAgentClient(name: string): Promise<AgentClient> {
  const state = await readState();
  const i = state?.hosts.indexOf(name) ?? -1;
  if (!state?.token || i < 0) {
    throw new VmhopError(
      'VMHOP_ERR_TESTBED_HOST_UNKNOWN',
      `no agent on test-bed host \`${name}\`; hosts: ${state?.hosts.join(', ') || 'none (the test bed is not up)'}`,
      { host: name },
    );
  }
  const h = hostPlan(name, i);
  return new AgentClient({ name, url: agentUrl(h), token: state.token, ca: `${TESTBED_CA_DIR}/ca-cert.pem` });
}
