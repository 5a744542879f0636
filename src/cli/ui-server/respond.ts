// JSON replies of the UI server in the agents' own error shape, so the UI shows one kind of error.
import type { ServerResponse } from 'node:http';
import { VmhopError, isVmhopError } from '../../protocol/errors.js';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export function sendError(res: ServerResponse, e: unknown): void {
  const err = isVmhopError(e)
    ? e
    : new VmhopError('VMHOP_ERR_INTERNAL', `internal error: ${(e as Error)?.message ?? String(e)}`);
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, err.status, { error: err.toJSON() });
}
