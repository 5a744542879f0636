import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUiServer } from './server.js';

// A stand-in agent on a real socket: records what reached it, answers JSON, streams SSE.
const seen: IncomingMessage[] = [];
const fakeAgent: Server = createServer((req, res) => {
  seen.push(req);
  if (req.url === '/v1/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`id: 1\nevent: vm.state\ndata: {"type":"vm.state","vm":"x","state":"running"}\n\n`);
    return;
  }
  res.writeHead(req.url === '/v1/missing' ? 404 : 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ path: req.url, method: req.method }));
});

const dir = mkdtempSync(join(tmpdir(), 'vmhop-ui-'));
const hostsFile = join(dir, 'hosts.json');
const ui = createUiServer(dir, 'test-key');
const withKey = { cookie: 'vmhop_ui=test-key' };
let base = '';

beforeAll(async () => {
  await new Promise<void>((r) => fakeAgent.listen(0, '127.0.0.1', r));
  const agentUrl = `http://127.0.0.1:${(fakeAgent.address() as AddressInfo).port}`;
  process.env.VMHOP_HOSTS = hostsFile;
  writeFileSync(hostsFile, JSON.stringify({ hosts: { a: { url: agentUrl, token: 'sekrit' } } }));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>ui</title>');
  await new Promise<void>((r) => ui.server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(ui.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await ui.close();
  fakeAgent.closeAllConnections();
  await new Promise((r) => fakeAgent.close(r));
  delete process.env.VMHOP_HOSTS;
});

describe('vmhop ui server', () => {
  it('forwards /api/hosts/NAME/... to that agent with its token, never showing the token', async () => {
    const r = await fetch(`${base}/api/hosts/a/v1/vms?x=1`, { headers: withKey });
    expect(await r.json()).toEqual({ path: '/v1/vms?x=1', method: 'GET' });
    expect(seen.at(-1)?.headers.authorization).toBe('Bearer sekrit');
    const list = await (await fetch(`${base}/api/hosts`, { headers: withKey })).text();
    expect(list).not.toContain('sekrit');
  });

  it("passes the agent's error status and body through", async () => {
    const r = await fetch(`${base}/api/hosts/a/v1/missing`, { headers: withKey });
    expect(r.status).toBe(404);
  });

  it('streams the SSE events as they come', async () => {
    const ac = new AbortController();
    const r = await fetch(`${base}/api/hosts/a/v1/events`, { signal: ac.signal, headers: withKey });
    expect(r.headers.get('content-type')).toBe('text/event-stream');
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('event: vm.state');
    ac.abort();
  });

  it("merges the agents' event streams into one, tagged with the host, resuming each from its id", async () => {
    const ac = new AbortController();
    const r = await fetch(`${base}/api/events?hosts=a,unknown`, {
      signal: ac.signal,
      headers: { 'last-event-id': 'a=7', ...withKey },
    });
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('event: vm.state')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain(
      'id: a=1\nevent: vm.state\ndata: {"type":"vm.state","vm":"x","state":"running","host":"a"}',
    );
    expect(seen.find((q) => q.url === '/v1/events' && q.headers['last-event-id'] === '7')).toBeDefined();
    ac.abort();
  });

  it('follows each host of the merged stream once, however often the list names it', async () => {
    const ac = new AbortController();
    const streams = () => seen.filter((q) => q.url === '/v1/events').length;
    const before = streams();
    const r = await fetch(`${base}/api/events?hosts=${'a,'.repeat(50)}constructor,toString`, {
      signal: ac.signal,
      headers: withKey,
    });
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('event: vm.state')) text += new TextDecoder().decode((await reader.read()).value);
    ac.abort();
    expect(streams() - before).toBe(1);
  });

  it('adds a connection to the hosts file and refuses a malformed URL naming the field', async () => {
    const post = (body: unknown) =>
      fetch(`${base}/api/hosts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...withKey },
        body: JSON.stringify(body),
      });
    const bad = await post({ name: 'b', url: 'b.example' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/url: expected/);
    expect((await post({ name: 'b', url: 'https://10.0.0.2:8443', token: 't' })).status).toBe(201);
    const file = JSON.parse(readFileSync(hostsFile, 'utf8')) as { hosts: Record<string, unknown> };
    expect(file.hosts.b).toEqual({ url: 'https://10.0.0.2:8443', token: 't' });
  });

  it('refuses requests from another origin and writes that are not JSON', async () => {
    const foreign = await fetch(`${base}/api/hosts/a/v1/vms`, {
      headers: { origin: 'http://evil.example', ...withKey },
    });
    expect(foreign.status).toBe(401);
    const form = await fetch(`${base}/api/hosts/a/v1/vms/x/destroy`, {
      method: 'POST',
      body: 'a=1',
      headers: withKey,
    });
    expect(form.status).toBe(400);
    expect(seen.some((r) => r.url === '/v1/vms/x/destroy')).toBe(false);
  });

  it('names an unknown connection and serves the app for any other path', async () => {
    const r = await fetch(`${base}/api/hosts/zz/v1/host`, { headers: withKey });
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('VMHOP_ERR_HOST_UNKNOWN');
    expect(await (await fetch(`${base}/some/page`)).text()).toContain('<title>ui</title>');
  });

  it('refuses a request that names another host, as a browser sends after DNS rebinding', async () => {
    const before = seen.length;
    const r = await rawRequest('POST', '/api/hosts', {
      host: 'attacker.example:' + new URL(base).port,
      origin: 'http://attacker.example:' + new URL(base).port,
      'content-type': 'application/json',
      ...withKey,
    });
    expect(r.status).toBe(401);
    expect(r.body).toMatch(/not this UI server/);
    expect(seen.length).toBe(before);
    expect(JSON.parse(readFileSync(hostsFile, 'utf8')).hosts.evil).toBeUndefined();
  });

  it("never sends an agent's token to a host the path spells (`/api/hosts/a//HOST/...`)", async () => {
    const reached: string[] = [];
    const stranger = createServer((req, res) => {
      reached.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.end('{}');
    });
    await new Promise<void>((r) => stranger.listen(0, '127.0.0.1', r));
    const evil = `127.0.0.1:${(stranger.address() as AddressInfo).port}`;
    try {
      for (const path of [`/api/hosts/a//${evil}/steal`, `/api/hosts/a//@${evil}/x`]) {
        const r = await fetch(`${base}${path}`, { headers: withKey });
        expect(r.status, path).toBe(400);
        expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(
          /leads away from the agent of `a`/,
        );
      }
      expect(reached).toEqual([]);
    } finally {
      stranger.closeAllConnections();
      await new Promise((r) => stranger.close(r));
    }
  });

  it('refuses the API without the per-start key, and with a wrong one', async () => {
    const none = await fetch(`${base}/api/hosts`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(
      /vmhop ui. printed/,
    );
    const wrong = await fetch(`${base}/api/hosts`, { headers: { cookie: 'vmhop_ui=guess' } });
    expect(wrong.status).toBe(401);
  });

  it('gives the key as an HttpOnly SameSite=Strict cookie to a page opened with ?key=, and only then', async () => {
    const ok = await fetch(`${base}/?key=test-key`);
    expect(ok.headers.get('set-cookie')).toBe('vmhop_ui=test-key; Path=/; HttpOnly; SameSite=Strict');
    const bad = await fetch(`${base}/?key=nope`);
    expect(bad.headers.get('set-cookie')).toBeNull();
  });
});

describe('vmhop ui server, malformed URLs', () => {
  for (const path of ['/%', '/%E0%A4%A', '/api/hosts/%/v1/host', '/api/hosts/%E0%A4%A']) {
    it(`answers GET ${path} with 400 and keeps serving`, async () => {
      const r = await rawRequest('GET', path, { host: new URL(base).host, ...withKey });
      expect(r.status).toBe(400);
      expect((await fetch(`${base}/`)).status).toBe(200);
    });
  }
});

/** fetch() will not send a Host of one's choosing; a raw request does. */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(base);
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ name: 'evil', url: 'https://10.0.0.9:8443', token: 't' }));
  });
}
