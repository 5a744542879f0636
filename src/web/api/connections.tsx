// The connections of the hosts file (names and URLs only), shared by every page, and the
// one event stream that follows them all.
import { createContext, useContext, type ReactNode } from 'react';
import { useEventStream } from './events.js';
import { request } from './http.js';
import { useData, type Loaded } from './use-data.js';

export interface Connection {
  name: string;
  url: string;
}

const Ctx = createContext<Loaded<Connection[]> | null>(null);

export function ConnectionsProvider({ children }: { children: ReactNode }) {
  const loaded = useData(async () => (await request<{ hosts: Connection[] }>('GET', '/api/hosts')).hosts, []);
  useEventStream((loaded.data ?? []).map((c) => c.name));
  return <Ctx.Provider value={loaded}>{children}</Ctx.Provider>;
}

export function useConnections(): Loaded<Connection[]> {
  const c = useContext(Ctx);
  if (!c) throw new Error('useConnections outside ConnectionsProvider');
  return c;
}

export const hostNames = (c: Loaded<Connection[]>) => (c.data ?? []).map((h) => h.name);
