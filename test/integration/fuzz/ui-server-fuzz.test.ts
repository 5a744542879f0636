// The `vmhop ui` server under hostile requests (issue 12): DNS-rebound Host names, other
// origins on writes, a missing or wrong per-start key, and malformed URLs. None may be
// accepted, none may be a 5xx, the server keeps serving, no file outside its web root is
// served, and nothing reaches an agent (a recording stand-in) or any other server. Over a real
// loopback socket, each request written byte for byte as an attacker's client would.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUiServer } from '../../../src/cli/ui-server/server.js';
import { Prng, seedFromEnv } from './prng.js';
import { Tally } from './tally.js';

const KEY = 'fuzz-ui-key';
const DECOY = 'decoy outside the web root: never served';
const seed = seedFromEnv();
const rng = new Prng(seed);
const tally = new Tally(seed);

/** A stand-in agent and a stranger: each records every request that reaches it. */
function recorder(): { server: Server; seen: IncomingMessage[] } {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"reached":true}');
  });
  return { server, seen };
}

let dir: string;
let ui: ReturnType<typeof createUiServer>;
const agent = recorder();
const stranger = recorder();
let port = 0;
let strangerPort = 0;
let hostsBefore = '';

const listen = (s: Server) =>
  new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vmhop-ui-fuzz-'));
  await mkdir(join(dir, 'web'));
  await writeFile(join(dir, 'web', 'index.html'), '<!doctype html><title>ui</title>');
  await writeFile(join(dir, 'secret.txt'), DECOY);
  const agentPort = await listen(agent.server);
  strangerPort = await listen(stranger.server);
  hostsBefore = JSON.stringify({ hosts: { a: { url: `http://127.0.0.1:${agentPort}`, token: 'sekrit' } } });
  await writeFile(join(dir, 'hosts.json'), hostsBefore);
  process.env.VMHOP_HOSTS = join(dir, 'hosts.json');
  ui = createUiServer(join(dir, 'web'), KEY);
  port = await listen(ui.server);
});

afterAll(async () => {
  await ui?.close();
  for (const s of [agent.server, stranger.server]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  delete process.env.VMHOP_HOSTS;
  await rm(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  body: string;
}

/**
 * A request written byte for byte on a socket (node's client would refuse an empty or odd Host
 * itself); an event stream is read up to its headers, as it never ends by itself.
 */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve) => {
    const lines = [`${method} ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (body !== undefined) lines.push(`content-length: ${Buffer.byteLength(body)}`);
    lines.push('connection: close', '', body ?? '');
    const sock = connect(port, '127.0.0.1', () => sock.write(lines.join('\r\n')));
    let text = '';
    const done = () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) || text });
      sock.destroy();
    };
    sock.setTimeout(5_000, () => {
      text ||= 'no answer within 5 s';
      done();
    });
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (/\r\ncontent-type: text\/event-stream/i.test(text)) done();
    });
    sock.on('close', done);
    sock.on('error', done);
  });
}

const own = () => `127.0.0.1:${port}`;
const withKey = { cookie: `vmhop_ui=${KEY}` };
const json = { 'content-type': 'application/json' };
const NEW_HOST = JSON.stringify({ name: 'evil', url: 'https://10.0.0.9:8443', token: 't' });

/** Sends and checks: no 5xx, and a refusal (4xx) unless `survive` only is asked. */
async function send(
  category: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
  survive = false,
) {
  const res = await raw(method, path, headers, body);
  tally.count(category, res.status);
  const request = { method, url: path, body, headers };
  if (res.status >= 500)
    tally.fail({ category, why: '5xx', request, status: res.status, response: res.body });
  else if (!survive && !(res.status >= 400 && res.status < 500)) {
    tally.fail({
      category,
      why: 'accepted what must be refused',
      request,
      status: res.status,
      response: res.body,
    });
  }
  if (res.body.includes(DECOY)) {
    tally.fail({
      category,
      why: 'served a file outside the web root',
      request,
      status: res.status,
      response: res.body,
    });
  }
}

const API = [
  ['GET', '/api/hosts'],
  ['POST', '/api/hosts'],
  ['DELETE', '/api/hosts/a'],
  ['GET', '/api/hosts/a/v1/vms'],
  ['POST', '/api/hosts/a/v1/vms/web1/destroy'],
  ['PUT', '/api/hosts/a/v1/vms'],
  ['GET', '/api/events?hosts=a'],
  ['GET', '/api/test-guest'],
] as const;

describe('fuzzing the vmhop ui server', () => {
  it('refuses a rebound Host, another origin, and a missing or wrong key; none reaches the agent', async () => {
    const hosts = [
      `attacker.example:${port}`,
      `127.0.0.1:${port + 1}`,
      '127.0.0.1',
      'localhost',
      `localhost.attacker.example:${port}`,
      `127.0.0.1:${port}@attacker.example`,
      `127.0.0.1:${port}.attacker.example`,
      `${'a'.repeat(5_000)}:${port}`,
      '',
    ];
    for (const h of hosts) {
      await send('ui-rebinding-host', 'GET', '/', { host: h, ...withKey });
      for (const [m, p] of API)
        await send(
          'ui-rebinding-host',
          m,
          p,
          { host: h, origin: `http://${h}`, ...withKey, ...json },
          NEW_HOST,
        );
    }
    const origins = [
      'http://evil.example',
      'null',
      `http://127.0.0.1:${port + 1}`,
      `https://127.0.0.1:${port}`,
      `http://localhost:${port}`,
      `http://127.0.0.1:${port}.evil.example`,
      `http://127.0.0.1:${port}/`,
      '',
    ];
    for (const o of origins) {
      for (const [m, p] of API)
        await send('ui-cross-origin', m, p, { host: own(), origin: o, ...withKey, ...json }, NEW_HOST);
    }
    for (const ct of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      '',
    ]) {
      for (const [m, p] of API.filter(([x]) => x !== 'GET')) {
        await send(
          'ui-write-not-json',
          m,
          p,
          { host: own(), ...withKey, ...(ct ? { 'content-type': ct } : {}) },
          NEW_HOST,
        );
      }
    }
    const cookies = [
      '',
      'vmhop_ui=',
      'vmhop_ui=guess',
      `vmhop_ui=${KEY}x`,
      `vmhop_ui=${KEY.slice(0, -1)}`,
      `vmhop_ui=${KEY.toUpperCase()}`,
      `vmhop_ui=%${KEY}`,
      `other=${KEY}`,
      `vmhop_ui=${'k'.repeat(5_000)}`,
    ];
    for (const c of cookies) {
      for (const [m, p] of API)
        await send(
          'ui-key',
          m,
          `${p}${p.includes('?') ? '&' : '?'}key=${KEY}`,
          { host: own(), ...(c ? { cookie: c } : {}), ...json },
          NEW_HOST,
        );
    }
    expect(agent.seen).toEqual([]);
    expect(tally.failures, tally.describeFailures()).toEqual([]);
  }, 30_000);

  it('answers malformed and traversing URLs without a 5xx, serves nothing outside its root, and keeps serving', async () => {
    const paths = [
      '/%',
      '/%E0%A4%A',
      '/%00',
      '/a%00b',
      '/%c0%ae%c0%ae/secret.txt',
      '/..%2fsecret.txt',
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '//..//secret.txt',
      '/assets/../../secret.txt',
      `/${'a'.repeat(10_000)}`,
      `/${'a'.repeat(100_000)}`,
      '/a\u0000b',
      '/api/hosts/a/v1/vms\u0000',
      '/api/hosts/a\u0000/v1/vms',
      '/a b',
      '*',
      // Absolute-form: the path is what counts (with the right Host and key it is an ordinary request).
      'http://attacker.example/some/page',
      '/api/%',
      '/api/hosts/%',
      '/api/hosts/%E0%A4%A/v1/vms',
      '/api/hosts/%00/v1/vms',
      '/api/hosts/a%00/v1/vms',
      '/api/hosts/..%2f..%2fetc/v1/vms',
      '/api/hosts/__proto__/v1/vms',
      '/api/hosts/constructor/v1/vms',
      '/api/hosts/toString',
      `/api/hosts/${'a'.repeat(10_000)}/v1/vms`,
      '/api/events?hosts=__proto__,constructor,%',
      '/api/events?hosts=' + 'a,'.repeat(5_000),
    ];
    for (const p of paths) {
      // Static paths with a wrong escape are refused; others fall back to index.html (2xx is fine).
      // The merged event stream takes any host list and follows only the known ones (2xx is fine).
      const survive =
        (!/%(?![0-9a-f]{2})|%E0%A4%A$|%E0%A4%A\//i.test(p) && !p.startsWith('/api/')) ||
        p.startsWith('/api/events');
      await send('ui-malformed-url', 'GET', p, { host: own(), ...withKey }, undefined, survive);
      await send(
        'ui-malformed-url',
        'POST',
        p,
        { host: own(), ...withKey, ...json },
        NEW_HOST,
        survive || p.startsWith('/api/hosts/a'),
      );
    }
    for (const p of rng.sample(paths, 8))
      await send('ui-malformed-url', 'HEAD', p, { host: own() }, undefined, true);
    const alive = await raw('GET', '/', { host: own() });
    expect(alive.status).toBe(200);
    // Only the merged stream of `hosts=a,a,...` (the key is valid) follows agent `a`: once.
    expect(agent.seen.map((r) => r.url).filter((u) => u !== '/v1/events')).toEqual([]);
    expect(agent.seen.length).toBeLessThanOrEqual(1);
    expect(tally.failures, tally.describeFailures()).toEqual([]);
  }, 30_000);

  it('forwards a path only to the agent it names, never to a host the path spells', async () => {
    const evil = `127.0.0.1:${strangerPort}`;
    const paths = [
      `/api/hosts/a//${evil}/steal`,
      `/api/hosts/a//${evil}`,
      `/api/hosts/a/%2F%2F${evil}/steal`,
      `/api/hosts/a/\\\\${evil}/steal`,
      `/api/hosts/a/http://${evil}/steal`,
      `/api/hosts/a/@${evil}/steal`,
      `/api/hosts/a//@${evil}/steal`,
    ];
    for (const p of paths) {
      for (const m of ['GET', 'POST'])
        await send(
          'ui-proxy-target',
          m,
          p,
          { host: own(), ...withKey, ...json },
          m === 'POST' ? '{}' : undefined,
          true,
        );
    }
    expect(stranger.seen.map((r) => `${r.method} ${r.url} ${r.headers.authorization ?? ''}`)).toEqual([]);
    expect(tally.failures, tally.describeFailures()).toEqual([]);
  }, 30_000);

  it('reports its figures, and the hosts file is as it was', async () => {
    expect(await readFile(join(dir, 'hosts.json'), 'utf8')).toBe(hostsBefore);
    const doc = tally.report('ui', {
      agentReached: agent.seen.length,
      strangerReached: stranger.seen.length,
    });
    expect(doc.failures).toBe(0);
  });
});
