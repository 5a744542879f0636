// The UI's only way to an agent: HTTP through `vmhop ui` (/api/hosts/NAME/v1/...), which adds
// the token and CA. Failures come back as ApiError carrying the agent's {code, message, details}.
import { errorCatalogue, readErrorBody, type ErrorCode } from '../../protocol/errors.js';

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode | string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly status = 0,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The catalogue's one-line meaning of the code, when the code is one of ours. */
  get summary(): string | undefined {
    return (errorCatalogue as Record<string, { summary: string }>)[this.code]?.summary;
  }
}

type Method = 'GET' | 'POST' | 'DELETE';

export async function request<T>(method: Method, url: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        accept: 'application/json',
        ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}),
      },
      ...(method !== 'GET' ? { body: JSON.stringify(body ?? {}) } : {}),
    });
  } catch (e) {
    throw new ApiError(
      'VMHOP_ERR_HOST_UNREACHABLE',
      `the vmhop ui server cannot be reached: ${(e as Error).message}`,
    );
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const err = readErrorBody(text);
    throw new ApiError(
      err.code,
      err.message ?? `HTTP ${res.status}: ${text.slice(0, 200)}`,
      err.details,
      res.status,
    );
  }
  return (parsed ?? text) as T;
}

/** A call to one host's agent API, e.g. agent('a', 'GET', '/v1/vms'). */
export function agent<T>(host: string, method: Method, path: string, body?: unknown): Promise<T> {
  return request<T>(method, `/api/hosts/${encodeURIComponent(host)}${path}`, body);
}

/** Plain-text agent responses (the serial console log). */
export async function agentText(host: string, path: string): Promise<string> {
  const res = await fetch(`/api/hosts/${encodeURIComponent(host)}${path}`);
  const text = await res.text();
  if (!res.ok) {
    const err = readErrorBody(text);
    throw new ApiError(err.code, err.message ?? text, {}, res.status);
  }
  return text;
}

export const enc = encodeURIComponent;
