// `vmhop save|restore|shutdown` draw a progress line from the agent's `vm.progress` events, at
// the socket boundary: a stand-in agent (plain HTTP) serves /v1/events and answers the action
// after sending progress tagged with the body's progressId (and some for another client).
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { VmProgress } from '../../protocol/vm-progress.js';
import { runVmhopWithStderr } from '../testing/run-vmhop-stderr.js';

interface Agent {
  url: string;
  server: Server;
  streams: ServerResponse[];
  bodies: Record<string, unknown>[];
}

const vm = { name: 'web1', uuid: 'u', state: 'shutoff', pid: null, owner: 'local', spec: {} };
const progress = (p: Partial<VmProgress>): VmProgress => ({
  operation: 'save',
  unit: 'bytes',
  done: 0,
  total: 128 * 1024 ** 2,
  etaS: null,
  note: 'RAM and device state to /x.vmstate; the VM stops once it is written',
  elapsedMs: 0,
  ended: false,
  ...p,
});
let seq = 0;
const frame = (body: Record<string, unknown>) =>
  `id: ${++seq}\nevent: ${String(body.type)}\ndata: ${JSON.stringify({ ...body, id: seq })}\n\n`;

let agent: Agent;
async function startAgent(events: (id: string) => Record<string, unknown>[]): Promise<Agent> {
  const a = { streams: [], bodies: [] } as unknown as Agent;
  a.server = createServer((req, res) => {
    if (req.url === '/v1/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
      a.streams.push(res);
      return;
    }
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(text || '{}') as { progressId?: string };
      a.bodies.push(body);
      for (const s of a.streams) for (const e of events(body.progressId ?? '')) s.write(frame(e));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(vm));
    });
  });
  await new Promise<void>((r) => a.server.listen(0, '127.0.0.1', r));
  a.url = `http://127.0.0.1:${(a.server.address() as AddressInfo).port}`;
  return a;
}

const vmhop = (...args: string[]) => runVmhopWithStderr('-c', agent.url, ...args);

beforeAll(() => {
  process.env.VMHOP_HOSTS = join(tmpdir(), `vmhop-vm-progress-test-${process.pid}-none.json`);
});
afterAll(() => {
  delete process.env.VMHOP_HOSTS;
});
afterEach(async () => {
  agent.server.closeAllConnections();
  await new Promise((r) => agent.server.close(r));
});

const MiB = 1024 ** 2;

describe('progress of VM actions in the CLI', () => {
  it('vmhop save prints its own progress on stderr, ending at 100%, and the result on stdout', async () => {
    agent = await startAgent((id) => [
      { type: 'vm.progress', vm: 'web1', progressId: id, data: progress({ done: 0 }) },
      {
        type: 'vm.progress',
        vm: 'web1',
        progressId: 'someone-else',
        data: progress({ done: 77 * MiB, ended: true }),
      },
      {
        type: 'vm.progress',
        vm: 'web1',
        progressId: id,
        data: progress({ done: 128 * MiB, rateBps: 64 * MiB, ended: true }),
      },
    ]);
    const r = await vmhop('save', 'web1');
    expect(r.exitCode ?? 0).toBe(0);
    expect(r.stdout).toBe('VM web1 saved (state shutoff)\n');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^save {2}\[\.{20}\] {2}0% {2}0\/128 MiB {2}ETA -- \(RAM and device state/);
    expect(lines[1]).toMatch(/^save {2}\[#{20}\] {2}100% {2}128\/128 MiB {2}64 MiB\/s \(RAM/);
    expect(r.stderr).not.toMatch(/77/);
    expect(agent.bodies[0]).toEqual({ progressId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it('vmhop shutdown shows the wait against its timeout and what the timeout does', async () => {
    const note = 'waiting for the guest to power off; at 60 s the request fails and the VM keeps running';
    agent = await startAgent((id) => [
      {
        type: 'vm.progress',
        vm: 'web1',
        progressId: id,
        data: progress({ operation: 'shutdown', unit: 'ms', done: 15_000, total: 60_000, etaS: 45, note }),
      },
      {
        type: 'vm.progress',
        vm: 'web1',
        progressId: id,
        data: progress({ operation: 'shutdown', unit: 'ms', done: 20_000, total: 60_000, note, ended: true }),
      },
    ]);
    const r = await vmhop('shutdown', 'web1', '--timeout', '60');
    expect(agent.bodies[0]).toMatchObject({ timeoutMs: 60_000 });
    expect(r.stderr.trim().split('\n')[0]).toMatch(
      /^shutdown {2}\[#{5}\.{15}\] {2}25% {2}15s\/1m00s {2}timeout in 45s \(waiting for the guest to power off; at 60 s the request fails and the VM keeps running\)$/,
    );
  });

  it('--json prints the one JSON document and no progress, without opening the event stream', async () => {
    agent = await startAgent((id) => [
      { type: 'vm.progress', vm: 'web1', progressId: id, data: progress({ ended: true }) },
    ]);
    const r = await vmhop('--json', 'restore', 'web1');
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'web1' });
    expect(r.stderr).toBe('');
    expect(agent.streams).toHaveLength(0);
    expect(agent.bodies[0]).toEqual({});
  });
});
