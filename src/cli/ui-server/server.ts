// The `vmhop ui` server: the built web UI plus /api, a thin layer over the hosts file.
// /api/hosts lists and adds connections; /api/hosts/:name/* goes to that agent's own API
// (the same API the CLI uses); /api/events merges the agents' event streams; /api/test-guest tells the create form where this machine's
// test guest kernel is. It holds no state of its own besides the hosts file. Who may use it:
// access.ts (own Host only, own origin only, the per-start key).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { VmhopError } from '../../protocol/errors.js';
import { guestArtifacts } from '../../test-guest/spec.js';
import { REPO_ROOT } from '../../repo/paths.js';
import { addConnection, listConnections, removeConnection } from './connections.js';
import { AgentProxy } from './proxy.js';
import { mergeEvents } from './event-merge.js';
import { readHostsFile } from '../../client/hosts-file.js';
import { sendError, sendJson } from './respond.js';
import { serveStatic } from './static-files.js';
import { consoleUpgrade } from './console-upgrade.js';
import { checkHost, checkKey, checkOrigin, newUiKey, ownHosts, rememberKey } from './access.js';

export const WEB_ROOT = join(REPO_ROOT, 'dist', 'web');
const BODY_LIMIT = 64 * 1024;

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > BODY_LIMIT) throw new VmhopError('VMHOP_ERR_USAGE', `request body over ${BODY_LIMIT} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new VmhopError('VMHOP_ERR_USAGE', 'request body is not JSON');
  }
}

/** One bad escape (`/%`, `/%E0%A4%A`) must cost that request a 400, not the server its life. */
export function decodePart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new VmhopError('VMHOP_ERR_USAGE', `malformed percent-encoding in \`${s.slice(0, 200)}\``);
  }
}

async function handleApi(
  proxy: AgentProxy,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  key: string,
) {
  checkOrigin(req);
  checkKey(req, key);
  const parts = url.pathname.split('/').slice(2); // after /api/
  if (parts[0] === 'hosts' && parts.length === 1) {
    if (req.method === 'GET') return sendJson(res, 200, listConnections());
    if (req.method === 'POST') return sendJson(res, 201, addConnection(await readJson(req)));
  }
  if (parts[0] === 'hosts' && parts.length === 2 && req.method === 'DELETE') {
    removeConnection(decodePart(parts[1] ?? ''));
    return sendJson(res, 200, { ok: true });
  }
  if (parts[0] === 'hosts' && parts.length > 2) {
    const name = decodePart(parts[1] ?? '');
    const rest = '/' + parts.slice(2).join('/') + url.search;
    return proxy.forward(name, rest, req, res);
  }
  if (parts[0] === 'events' && parts.length === 1 && req.method === 'GET') {
    const known = readHostsFile().hosts;
    // Each known host once: `hosts=a,a,...` would open one agent stream per repetition, and
    // `in` would take `constructor` for a host.
    const listed = new Set((url.searchParams.get('hosts') ?? '').split(','));
    const wanted = [...listed].filter((h) => Object.hasOwn(known, h));
    return mergeEvents(proxy, wanted, req, res);
  }
  if (parts[0] === 'test-guest' && req.method === 'GET') return sendJson(res, 200, guestArtifacts());
  throw new VmhopError('VMHOP_ERR_ROUTE_NOT_FOUND', `no UI API route ${req.method} ${url.pathname}`);
}

/** `key`: the per-start secret the printed URL carries (`?key=`); random unless a test sets it. */
export function createUiServer(
  webRoot = WEB_ROOT,
  key = newUiKey(),
): { server: Server; key: string; close: () => Promise<void> } {
  const proxy = new AgentProxy();
  const server = createServer((req, res) => {
    let url: URL;
    try {
      checkHost(req, ownHosts(server.address()));
      url = new URL(req.url ?? '/', 'http://ui.invalid');
    } catch (e) {
      sendError(res, e instanceof TypeError ? new VmhopError('VMHOP_ERR_USAGE', 'malformed request URL') : e);
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      handleApi(proxy, req, res, url, key).catch((e: unknown) => sendError(res, e));
      return;
    }
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        throw new VmhopError('VMHOP_ERR_ROUTE_NOT_FOUND', `no route ${req.method} ${url.pathname}`);
      }
      rememberKey(url, key, res);
      serveStatic(webRoot, decodePart(url.pathname), res);
    } catch (e) {
      sendError(res, e);
    }
  });
  server.on('upgrade', (req, socket) => consoleUpgrade(req, socket, ownHosts(server.address()), key));
  return {
    server,
    key,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await proxy.close();
    },
  };
}
