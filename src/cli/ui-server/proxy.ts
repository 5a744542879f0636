// Forwards /api/hosts/:name/<agent path> to that host's agent with the token and CA from
// the hosts file, streaming the response as it comes. The browser never sees a token: it
// only knows connection names.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import { VmhopError } from '../../protocol/errors.js';
import { hostEntry, readHostsFile, type HostEntry } from '../../client/hosts-file.js';

/** Request headers worth forwarding; cookies, host and auth from the browser are not. */
const FORWARDED = ['content-type', 'accept', 'last-event-id'];

export class AgentProxy {
  /** One dispatcher per connection, rebuilt when its URL or CA changes in the hosts file. */
  private readonly dispatchers = new Map<string, { key: string; agent: Agent }>();

  private dispatcherFor(name: string, e: HostEntry): Agent {
    const key = `${e.url}|${e.ca ?? ''}`;
    const cached = this.dispatchers.get(name);
    if (cached?.key === key) return cached.agent;
    void cached?.agent.close();
    const agent = new Agent({
      connect: e.ca ? { ca: readFileSync(e.ca) } : {},
      connectTimeout: 5_000,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    this.dispatchers.set(name, { key, agent });
    return agent;
  }

  /** A request to the agent of `name` with its token; connection failures name the host and URL. */
  async open(
    name: string,
    path: string,
    o: {
      method: Dispatcher.HttpMethod;
      headers: Record<string, string>;
      signal: AbortSignal;
      body?: Readable;
    },
  ): Promise<Dispatcher.ResponseData> {
    const entry = hostEntry(readHostsFile(), name);
    if (!entry) {
      throw new VmhopError(
        'VMHOP_ERR_HOST_UNKNOWN',
        `no connection named \`${name}\`; add it on the Hosts page`,
        {
          host: name,
        },
      );
    }
    // `//evil.example/x` (or `/\\evil.example/x`) is a URL of another host, not a path of
    // this agent's: it would carry the agent's token there.
    const url = new URL(path, entry.url);
    if (url.origin !== new URL(entry.url).origin) {
      throw new VmhopError(
        'VMHOP_ERR_USAGE',
        `the path \`${path.slice(0, 200)}\` leads away from the agent of \`${name}\` (${entry.url}): an agent path starts with a single /`,
        { host: name },
      );
    }
    try {
      return await request(url, {
        method: o.method,
        dispatcher: this.dispatcherFor(name, entry),
        headers: { ...o.headers, ...(entry.token ? { authorization: `Bearer ${entry.token}` } : {}) },
        signal: o.signal,
        ...(o.body ? { body: o.body } : {}),
      });
    } catch (e) {
      if (o.signal.aborted) throw e;
      const err = e as Error & { code?: string };
      throw new VmhopError(
        'VMHOP_ERR_HOST_UNREACHABLE',
        `cannot reach the agent of \`${name}\` at ${entry.url}: ${err.code ?? ''} ${err.message}`.trim(),
        { host: name, url: entry.url, cause: err.code },
      );
    }
  }

  async forward(name: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers: Record<string, string> = {};
    for (const h of FORWARDED) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const abort = new AbortController();
    // A closed browser tab must end the agent request too, or agent streams pile up.
    res.on('close', () => abort.abort());
    const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await this.open(name, path, {
        method,
        headers,
        signal: abort.signal,
        ...(method !== 'GET' && method !== 'HEAD' ? { body: req } : {}),
      });
    } catch (e) {
      if (abort.signal.aborted) return;
      throw e;
    }
    const out: Record<string, string> = {};
    for (const h of ['content-type', 'cache-control']) {
      const v = upstream.headers[h];
      if (typeof v === 'string') out[h] = v;
    }
    res.writeHead(upstream.statusCode, out);
    try {
      for await (const chunk of upstream.body) res.write(chunk);
    } catch {
      // the response ended early (agent gone or browser closed)
    }
    res.end();
  }

  async close(): Promise<void> {
    await Promise.all([...this.dispatchers.values()].map((d) => d.agent.close()));
  }
}
