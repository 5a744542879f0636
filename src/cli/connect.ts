// Runs a verb against the agent named by the global -c/--token options.
import type { OutputOptions } from './output/emit.js';
import { AgentClient } from './client.js';
import { resolveConnection } from './hosts-file.js';

export interface GlobalOptions extends OutputOptions {
  connect?: string;
  token?: string;
}

export async function withClient<T>(g: GlobalOptions, fn: (c: AgentClient) => Promise<T>): Promise<T> {
  const client = new AgentClient(resolveConnection(g.connect, g.token));
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
