// The HTTP client for one agent (the CLI's, the UI server's and the test bed's): bearer token,
// the cluster CA for TLS, JSON in and out, and API errors turned back into VmhopError with the
// agent's code and message.
// Connection failures become VMHOP_ERR_HOST_UNREACHABLE naming the URL.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { VmhopError, knownErrorCode, readErrorBody } from '../protocol/errors.js';
import type { HostEntry } from './hosts-file.js';

export class AgentClient {
  private readonly dispatcher: Agent;

  constructor(readonly conn: HostEntry & { name: string }) {
    this.dispatcher = new Agent({
      connect: conn.ca ? { ca: readFileSync(conn.ca) } : {},
      connectTimeout: 5_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const text = await this.raw(method, path, body);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async raw(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<string> {
    let res;
    try {
      res = await request(new URL(path, this.conn.url), {
        method,
        dispatcher: this.dispatcher,
        headers: {
          ...(this.conn.token ? { authorization: `Bearer ${this.conn.token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new VmhopError(
        'VMHOP_ERR_HOST_UNREACHABLE',
        `cannot reach the agent of \`${this.conn.name}\` at ${this.conn.url}: ${err.code ?? ''} ${err.message}`.trim(),
        { url: this.conn.url, cause: err.code },
      );
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      const body = readErrorBody(text);
      throw new VmhopError(
        knownErrorCode(body.code),
        body.message ?? `HTTP ${res.statusCode} from ${this.conn.url}: ${text.slice(0, 200)}`,
        body.details,
      );
    }
    return text;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
