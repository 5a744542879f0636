// The CLI follows a job by the agent's event stream, at the socket boundary: a stand-in agent
// (plain HTTP) serves /v1/events and /v1/jobs/:id and counts what it is asked. `vmhop migrate`
// returns when `job.ended` arrives and reads the job twice only (no polling); a cut stream is
// reopened with Last-Event-ID; an agent without the stream is polled instead.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { AgentClient } from '../../client/agent-client.js';
import { runVmhop } from '../testing/run-vmhop.js';
import { followJob } from './follow-job.js';

interface Agent {
  url: string;
  jobGets: number;
  streams: (string | undefined)[];
  state: string;
  /** Called for each opened event stream with its response and the Last-Event-ID it sent. */
  onStream: (res: ServerResponse, lastId: string | undefined) => void;
  server: Server;
}

const progress = (done: number) => ({
  phase: 'copying',
  stage: 'disks',
  ramTotalBytes: 0,
  ramTransferredBytes: 0,
  ramRemainingBytes: 0,
  rateBps: 1e6,
  dirtyRateBps: 0,
  pass: 0,
  etaS: 1,
  etaReason: 'test',
  disks: [{ target: 'vda', doneBytes: done, totalBytes: 100 }],
  elapsedMs: done,
});
const job = (a: Agent) => ({ id: 'j1', vm: 'web1', mode: 'offline', state: a.state, role: 'source' });
const frame = (id: number, body: Record<string, unknown>) =>
  `id: ${id}\nevent: ${String(body.type)}\ndata: ${JSON.stringify({ ...body, id })}\n\n`;

let agent: Agent;
async function startAgent(opts: { events?: boolean } = {}): Promise<Agent> {
  const a = { jobGets: 0, streams: [], state: 'running', onStream: () => undefined } as unknown as Agent;
  a.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.url === '/v1/events' && opts.events !== false) {
      const last = req.headers['last-event-id'] as string | undefined;
      a.streams.push(last);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
      a.onStream(res, last);
      return;
    }
    if (req.method === 'GET' && req.url === '/v1/jobs/j1') {
      a.jobGets++;
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(job(a)));
    }
    if (req.method === 'POST' && req.url === '/v1/migrations')
      return res.writeHead(200).end(JSON.stringify({ job: job(a), preflight: [] }));
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no"}}');
  });
  await new Promise<void>((r) => a.server.listen(0, '127.0.0.1', r));
  a.url = `http://127.0.0.1:${(a.server.address() as AddressInfo).port}`;
  return a;
}

beforeAll(() => {
  process.env.VMHOP_HOSTS = join(tmpdir(), `vmhop-follow-test-${process.pid}-none.json`);
});
afterAll(() => {
  delete process.env.VMHOP_HOSTS;
});
afterEach(async () => {
  agent.server.closeAllConnections();
  await new Promise((r) => agent.server.close(r));
});

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('following a job', () => {
  it('vmhop migrate returns on job.ended and reads the job only when the stream opens and at the end', async () => {
    agent = await startAgent();
    agent.onStream = (res) =>
      void (async () => {
        // Longer than three of the old 500 ms polls: polling would read the job more often.
        for (let i = 1; i <= 4; i++) {
          await wait(400);
          res.write(frame(i, { type: 'job.progress', job: 'j1', vm: 'web1', data: progress(i * 20) }));
          res.write(frame(100 + i, { type: 'job.progress', job: 'other', vm: 'x', data: progress(1) }));
        }
        agent.state = 'completed';
        res.write(frame(9, { type: 'job.ended', job: 'j1', vm: 'web1', state: 'completed' }));
      })();
    const r = await runVmhop('--json', '-c', agent.url, 'migrate', 'web1', '--to', 'b', '--offline');
    expect(r.exitCode ?? 0).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: 'j1', state: 'completed' });
    expect(agent.jobGets).toBe(2);
    expect(agent.streams).toEqual([undefined]);
  });

  it('hands every progress event of its job to the caller, in order', async () => {
    agent = await startAgent();
    agent.onStream = (res) =>
      void wait(50).then(() => {
        for (let i = 1; i <= 3; i++)
          res.write(frame(i, { type: 'job.progress', job: 'j1', vm: 'web1', data: progress(i) }));
        agent.state = 'failed';
        res.write(frame(4, { type: 'job.ended', job: 'j1', vm: 'web1', state: 'failed' }));
      });
    const seen: number[] = [];
    const c = new AgentClient({ name: 't', url: agent.url });
    try {
      const j = await followJob(c, 'j1', { onProgress: (p) => seen.push(p.disks[0]!.doneBytes) });
      expect(j.state).toBe('failed');
      expect(seen).toEqual([1, 2, 3]);
    } finally {
      await c.close();
    }
  });

  it('reopens a cut stream with Last-Event-ID and ends on the event it missed', async () => {
    agent = await startAgent();
    agent.onStream = (res, last) => {
      if (last === undefined) {
        res.write(frame(1, { type: 'job.progress', job: 'j1', vm: 'web1', data: progress(1) }));
        res.write(frame(2, { type: 'job.progress', job: 'j1', vm: 'web1', data: progress(2) }));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      agent.state = 'completed';
      res.write(frame(3, { type: 'job.ended', job: 'j1', vm: 'web1', state: 'completed' }));
    };
    const c = new AgentClient({ name: 't', url: agent.url });
    try {
      const j = await followJob(c, 'j1', { onProgress: () => undefined, retryMs: 10 });
      expect(j.state).toBe('completed');
      expect(agent.streams).toEqual([undefined, '2']);
    } finally {
      await c.close();
    }
  });

  it('polls the job when the agent has no event stream, after a bounded number of tries', async () => {
    agent = await startAgent({ events: false });
    const c = new AgentClient({ name: 't', url: agent.url });
    setTimeout(() => (agent.state = 'completed'), 100);
    try {
      const j = await followJob(c, 'j1', {
        onProgress: () => undefined,
        reconnectTries: 2,
        retryMs: 1,
        pollMs: 20,
      });
      expect(j.state).toBe('completed');
      expect(agent.jobGets).toBeGreaterThan(1);
    } finally {
      await c.close();
    }
  });
});
