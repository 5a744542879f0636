// The one WebSocket `vmhop ui` passes on: a VM's graphical console,
// /api/hosts/:name/v1/vms/:vm/vnc?ticket=..., to that host's agent (its URL and CA from the
// hosts file), after the same checks as the API (own Host, own Origin, the session key). The
// agent checks the single-use ticket; this server adds nothing to the upgrade but the CA, and
// upgrades to any other path are refused, so no other agent route can be reached this way.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { VmhopError, isVmhopError } from '../../protocol/errors.js';
import { hostEntry, readHostsFile } from '../../client/hosts-file.js';
import { checkHost, checkKey, checkOrigin } from './access.js';

const CONSOLE_PATH = /^\/api\/hosts\/([^/]+)(\/v1\/vms\/[^/]+\/vnc)$/;
/** What the browser's upgrade request may carry on to the agent. */
const PASSED = [
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
];

function refuse(socket: Duplex, e: unknown): void {
  const err = isVmhopError(e) ? e : new VmhopError('VMHOP_ERR_INTERNAL', String((e as Error)?.message ?? e));
  const body = JSON.stringify({ error: err.toJSON() });
  socket.end(
    `HTTP/1.1 ${err.status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function head(status: string, headers: IncomingMessage['rawHeaders']): string {
  let out = `HTTP/1.1 ${status}\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) out += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return out + '\r\n';
}

/** Handles the server's 'upgrade' event. `ownHosts`: the Host values this server answers to. */
export function consoleUpgrade(req: IncomingMessage, socket: Duplex, ownHosts: string[], key: string): void {
  socket.on('error', () => socket.destroy());
  try {
    checkHost(req, ownHosts);
    checkOrigin(req);
    checkKey(req, key);
    const url = new URL(req.url ?? '/', 'http://ui.invalid');
    const m = CONSOLE_PATH.exec(url.pathname);
    if (!m)
      throw new VmhopError(
        'VMHOP_ERR_ROUTE_NOT_FOUND',
        `no WebSocket route ${url.pathname.slice(0, 200)}: only a VM's /vnc console`,
      );
    const name = decodeURIComponent(m[1] as string);
    const entry = hostEntry(readHostsFile(), name);
    if (!entry)
      throw new VmhopError(
        'VMHOP_ERR_HOST_UNKNOWN',
        `no connection named \`${name}\`; add it on the Hosts page`,
        { host: name },
      );
    const target = new URL(`${m[2]}${url.search}`, entry.url);
    const headers: Record<string, string> = { connection: 'Upgrade', upgrade: 'websocket' };
    for (const h of PASSED) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
    const up = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, {
      headers,
      timeout: 10_000,
      ...(entry.ca ? { ca: readFileSync(entry.ca) } : {}),
    });
    up.on('upgrade', (res, agentSocket, agentHead) => {
      socket.write(head('101 Switching Protocols', res.rawHeaders));
      if (agentHead.length) socket.write(agentHead);
      agentSocket.pipe(socket).pipe(agentSocket);
      agentSocket.on('error', () => socket.destroy());
      socket.on('close', () => agentSocket.destroy());
      agentSocket.on('close', () => socket.destroy());
    });
    // A refusal (401 for a bad ticket, 409 for a stopped VM) goes back as the agent said it.
    up.on('response', (res) => {
      socket.write(head(`${res.statusCode} ${res.statusMessage}`, res.rawHeaders));
      res.pipe(socket);
    });
    up.on('timeout', () => up.destroy(new Error('no answer in 10 s')));
    up.on('error', (e: NodeJS.ErrnoException) =>
      refuse(
        socket,
        new VmhopError(
          'VMHOP_ERR_HOST_UNREACHABLE',
          `cannot reach the agent of \`${name}\` at ${entry.url}: ${e.code ?? e.message}`,
          {
            host: name,
          },
        ),
      ),
    );
    socket.on('close', () => up.destroy());
    up.end();
  } catch (e) {
    refuse(
      socket,
      e instanceof URIError ? new VmhopError('VMHOP_ERR_USAGE', 'malformed percent-encoding') : e,
    );
  }
}
