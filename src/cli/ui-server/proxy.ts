// Forwards /api/hosts/:name/<agent path> to that host's agent with the token and CA from
// the hosts file, streaming the response so the agent's SSE stream passes through as it
// comes. The browser never sees a token: it only knows connection names.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import { VmhopError } from '../../protocol/errors.js';
import { readHostsFile, type HostEntry } from '../hosts-file.js';
import { sendError } from './respond.js';

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

  async forward(name: string, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const entry = readHostsFile().hosts[name];
    if (!entry) {
      throw new VmhopError(
        'VMHOP_ERR_HOST_UNKNOWN',
        `no connection named \`${name}\`; add it on the Hosts page`,
        {
          host: name,
        },
      );
    }
    const headers: Record<string, string> = {};
    for (const h of FORWARDED) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    if (entry.token) headers.authorization = `Bearer ${entry.token}`;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const abort = new AbortController();
    // A closed browser tab must end the agent stream too, or SSE subscriptions pile up.
    res.on('close', () => abort.abort());
    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await request(new URL(path, entry.url), {
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        dispatcher: this.dispatcherFor(name, entry),
        headers,
        signal: abort.signal,
        ...(hasBody ? { body: req } : {}),
      });
    } catch (e) {
      if (abort.signal.aborted) return;
      const err = e as Error & { code?: string };
      sendError(
        res,
        new VmhopError(
          'VMHOP_ERR_HOST_UNREACHABLE',
          `cannot reach the agent of \`${name}\` at ${entry.url}: ${err.code ?? ''} ${err.message}`.trim(),
          { host: name, url: entry.url, cause: err.code },
        ),
      );
      return;
    }
    const out: Record<string, string> = {};
    for (const h of ['content-type', 'cache-control']) {
      const v = upstream.headers[h];
      if (typeof v === 'string') out[h] = v;
    }
    res.writeHead(upstream.statusCode, out);
    res.flushHeaders();
    try {
      for await (const chunk of upstream.body) res.write(chunk);
    } catch {
      // the stream ended early (agent gone or client closed): the browser reconnects
    }
    res.end();
  }

  async close(): Promise<void> {
    await Promise.all([...this.dispatchers.values()].map((d) => d.agent.close()));
  }
}
