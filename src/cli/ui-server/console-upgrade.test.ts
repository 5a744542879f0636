// The one WebSocket `vmhop ui` passes on, against a stand-in agent on a real socket that
// accepts console upgrades (ws) and records what reached it: the path and ticket go through,
// the hosts file's token does not; other paths, a missing key and another origin stop at the
// UI server; the agent's own refusal comes back with its status and body.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createUiServer } from './server.js';

const seen: IncomingMessage[] = [];
const wss = new WebSocketServer({ noServer: true });
const fakeAgent: Server = createServer((_req, res) => res.writeHead(404).end());
fakeAgent.on('upgrade', (req, socket, head) => {
  seen.push(req);
  if (!req.url?.includes('ticket=good')) {
    socket.end(
      'HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{"error":"t"}',
    );
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.send(Buffer.from('RFB 003.008\n'));
    ws.on('message', (m: Buffer) => ws.send(Buffer.concat([Buffer.from('echo:'), m])));
  });
});

const dir = mkdtempSync(join(tmpdir(), 'vmhop-ui-ws-'));
const ui = createUiServer(dir, 'test-key');
let base = '';
let origin = '';

/** Opens a WebSocket through the UI server: the first message, or the refusal's status. */
function open(
  path: string,
  headers: Record<string, string>,
): Promise<{ ws?: WebSocket; first?: string; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}${path}`, { headers, handshakeTimeout: 5_000 });
    ws.once('unexpected-response', (_q, res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    ws.once('message', (m: Buffer) => resolve({ ws, first: m.toString() }));
    ws.once('error', reject);
  });
}

beforeAll(async () => {
  await new Promise<void>((r) => fakeAgent.listen(0, '127.0.0.1', r));
  process.env.VMHOP_HOSTS = join(dir, 'hosts.json');
  const agentUrl = `http://127.0.0.1:${(fakeAgent.address() as AddressInfo).port}`;
  writeFileSync(
    process.env.VMHOP_HOSTS,
    JSON.stringify({ hosts: { a: { url: agentUrl, token: 'sekrit' } } }),
  );
  await new Promise<void>((r) => ui.server.listen(0, '127.0.0.1', r));
  const port = (ui.server.address() as AddressInfo).port;
  base = `ws://127.0.0.1:${port}`;
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  for (const c of wss.clients) c.terminate();
  await ui.close();
  fakeAgent.closeAllConnections();
  await new Promise((r) => fakeAgent.close(r));
  delete process.env.VMHOP_HOSTS;
});

describe("vmhop ui: a VM's console WebSocket", () => {
  const key = { cookie: 'vmhop_ui=test-key' };

  it('passes the upgrade with its ticket to the agent, without the token, and carries frames both ways', async () => {
    const { ws, first } = await open('/api/hosts/a/v1/vms/web1/vnc?ticket=good', { ...key, origin });
    expect(first).toBe('RFB 003.008\n');
    const echo = new Promise<string>((r) => ws!.once('message', (m: Buffer) => r(m.toString())));
    ws!.send(Buffer.from('key'));
    expect(await echo).toBe('echo:key');
    ws!.close();
    expect(seen.at(-1)?.url).toBe('/v1/vms/web1/vnc?ticket=good');
    expect(seen.at(-1)?.headers.authorization).toBeUndefined();
    expect(seen.at(-1)?.headers.cookie).toBeUndefined();
  });

  it("returns the agent's refusal of a bad ticket", async () => {
    expect(await open('/api/hosts/a/v1/vms/web1/vnc?ticket=bad', { ...key, origin })).toEqual({
      status: 401,
    });
  });

  it('refuses before the agent: no key, another origin, an unknown host, another path', async () => {
    const before = seen.length;
    expect((await open('/api/hosts/a/v1/vms/web1/vnc?ticket=good', { origin })).status).toBe(401);
    expect(
      (await open('/api/hosts/a/v1/vms/web1/vnc?ticket=good', { ...key, origin: 'http://evil.example' }))
        .status,
    ).toBe(401);
    expect((await open('/api/hosts/zz/v1/vms/web1/vnc?ticket=good', { ...key, origin })).status).toBe(404);
    expect((await open('/api/hosts/a/v1/events?ticket=good', { ...key, origin })).status).toBe(404);
    expect(
      (await open('/api/hosts/a/v1/vms/web1/vnc/../../../x?ticket=good', { ...key, origin })).status,
    ).toBe(404);
    expect(seen.length).toBe(before);
  });
});
