// Live events of the connected agents: one EventSource on `vmhop ui`'s /api/events, which
// merges every agent's /v1/events stream and tags each event with its host (one stream,
// as a browser allows only six connections per server). EventSource reconnects by itself
// and sends Last-Event-ID, so the agents replay what was missed, or send `resync`.
import { useEffect, useRef } from 'react';
import type { AgentEvent } from '../../protocol/events.js';

type Listener = (host: string, e: AgentEvent) => void;
const TYPES = [
  'vm.state',
  'vm.defined',
  'vm.undefined',
  'vm.progress',
  'job.progress',
  'job.ended',
  'resync',
] as const;
const listeners = new Set<Listener>();

/** Keeps the merged stream of these hosts open while mounted (the app shell does this once). */
export function useEventStream(hosts: string[]): void {
  const key = hosts.join(',');
  useEffect(() => {
    if (!key) return;
    const es = new EventSource(`/api/events?hosts=${encodeURIComponent(key)}`);
    for (const type of TYPES) {
      es.addEventListener(type, (m) => {
        const e = JSON.parse((m as MessageEvent<string>).data) as AgentEvent & { host: string };
        for (const l of listeners) l(e.host, { ...e, type } as AgentEvent);
      });
    }
    return () => es.close();
  }, [key]);
}

/** Calls `onEvent` for every event of the given hosts while the component is mounted. */
export function useAgentEvents(hosts: string[], onEvent: Listener): void {
  const ref = useRef(onEvent);
  ref.current = onEvent;
  const key = hosts.join('\n');
  useEffect(() => {
    const wanted = new Set(key.split('\n'));
    const l: Listener = (h, e) => {
      if (wanted.has(h)) ref.current(h, e);
    };
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, [key]);
}
