// One EventSource per host on the agent's /v1/events stream (through `vmhop ui`), shared by
// every page. EventSource reconnects by itself and sends Last-Event-ID, so the agent replays
// what was missed (or sends `resync`, on which pages reload).
import { useEffect, useRef } from 'react';
import type { AgentEvent } from '../../protocol/events.js';

type Listener = (host: string, e: AgentEvent) => void;
const TYPES = ['vm.state', 'vm.defined', 'vm.undefined', 'job.progress', 'job.ended', 'resync'] as const;

const sources = new Map<string, { es: EventSource; users: number }>();
const listeners = new Set<Listener>();

function open(host: string): void {
  const s = sources.get(host);
  if (s) {
    s.users++;
    return;
  }
  const es = new EventSource(`/api/hosts/${encodeURIComponent(host)}/v1/events`);
  for (const type of TYPES) {
    es.addEventListener(type, (m) => {
      const e = JSON.parse((m as MessageEvent<string>).data) as AgentEvent;
      for (const l of listeners) l(host, { ...e, type } as AgentEvent);
    });
  }
  sources.set(host, { es, users: 1 });
}

function release(host: string): void {
  const s = sources.get(host);
  if (!s || --s.users > 0) return;
  s.es.close();
  sources.delete(host);
}

/** Calls `onEvent` for every event of the given hosts while the component is mounted. */
export function useAgentEvents(hosts: string[], onEvent: Listener): void {
  const ref = useRef(onEvent);
  ref.current = onEvent;
  const key = hosts.join('\n');
  useEffect(() => {
    const wanted = key ? key.split('\n') : [];
    const l: Listener = (h, e) => {
      if (wanted.includes(h)) ref.current(h, e);
    };
    listeners.add(l);
    wanted.forEach(open);
    return () => {
      listeners.delete(l);
      wanted.forEach(release);
    };
  }, [key]);
}
