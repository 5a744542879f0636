// Who may use the `vmhop ui` server, which acts with every token of the hosts file: only a
// browser that opened the URL printed at start (it carries a per-start key, then kept in an
// HttpOnly SameSite=Strict cookie), asking by this server's own loopback name and port (a
// DNS-rebound attacker's name is refused), from this server's own origin.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VmhopError } from '../../protocol/errors.js';

const COOKIE = 'vmhop_ui';

export const newUiKey = (): string => randomBytes(24).toString('base64url');

/** The Host values this server answers to: its loopback names, or the exact address it listens on. */
export function ownHosts(addr: AddressInfo | string | null): string[] {
  if (!addr || typeof addr === 'string') return [];
  const p = addr.port;
  const literal = addr.family === 'IPv6' ? `[${addr.address}]:${p}` : `${addr.address}:${p}`;
  const loopback = addr.address === '127.0.0.1' || addr.address === '::1' || addr.address.startsWith('127.');
  return loopback ? [literal, `127.0.0.1:${p}`, `localhost:${p}`, `[::1]:${p}`] : [literal];
}

export function checkHost(req: IncomingMessage, allowed: string[]): void {
  const host = String(req.headers.host ?? '').toLowerCase();
  if (!allowed.includes(host)) {
    throw new VmhopError(
      'VMHOP_ERR_AUTH_INVALID',
      `Host \`${host || '(none)'}\` is not this UI server (${allowed[0] ?? 'unknown'}): open the URL \`vmhop ui\` printed at start`,
      { host },
    );
  }
}

/** Another web page in the same browser must not drive the API: cross-origin requests are refused,
 *  and a write must be JSON (which forces a CORS preflight that this server never grants). */
export function checkOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${String(req.headers.host ?? '').toLowerCase()}`) {
    throw new VmhopError('VMHOP_ERR_AUTH_INVALID', `requests from ${origin} are not accepted`, { origin });
  }
  const write = req.method !== 'GET' && req.method !== 'HEAD';
  if (write && !String(req.headers['content-type'] ?? '').startsWith('application/json')) {
    throw new VmhopError('VMHOP_ERR_USAGE', 'API writes must be sent as application/json');
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieKey(req: IncomingMessage): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === COOKIE && v) return v;
  }
  return undefined;
}

/** A page opened with `?key=KEY` gets the key as a cookie; the API then needs that cookie. */
export function rememberKey(url: URL, key: string, res: ServerResponse): void {
  const k = url.searchParams.get('key');
  if (k && same(k, key)) {
    res.setHeader('set-cookie', `${COOKIE}=${key}; Path=/; HttpOnly; SameSite=Strict`);
  }
}

export function checkKey(req: IncomingMessage, key: string): void {
  const k = cookieKey(req);
  if (!k || !same(k, key)) {
    throw new VmhopError(
      k ? 'VMHOP_ERR_AUTH_INVALID' : 'VMHOP_ERR_AUTH_MISSING',
      'this UI session has no valid key: open the URL `vmhop ui` printed at start (it carries ?key=...); a restarted server prints a new one',
      {},
    );
  }
}
