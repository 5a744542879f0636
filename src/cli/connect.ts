// Runs a verb against the agent named by the global -c/--token/--token-file options.
import type { OutputOptions } from '../terminal/emit.js';
import { AgentClient } from '../client/agent-client.js';
import { resolveConnection } from '../client/hosts-file.js';
import type { TokenOptions } from '../client/token-source.js';

export interface GlobalOptions extends OutputOptions, TokenOptions {
  connect?: string;
}

export async function withClient<T>(g: GlobalOptions, fn: (c: AgentClient) => Promise<T>): Promise<T> {
  const client = new AgentClient(resolveConnection(g.connect, g));
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
